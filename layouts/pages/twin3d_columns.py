"""The 3D page's columns (``/twin3d``, "Hexagons"): each site a column as tall as its
figure, or, once a layer has more sites than ``twin.max_columns``, each hexagon of
``twin.hexagon_km`` a column combining its sites as a district does, and the caption
says so. The columns are made on the server (``City.columns``), so what the browser
gets follows the number of columns, never the number of sites.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash.exceptions import PreventUpdate

from cockpit.city import City
from cockpit.present.i18n import Gettext, format_number
from cockpit.twin.districts import Measure
from cockpit.twin.hexgrid import HexFigure, HexLayer
from layouts.components import timemachine as tm
from layouts.components import twin3d, twin3d_columns
from layouts.pages.cockpit import _t

__all__ = ["column_caption", "columns_view"]


def _km(size: float, language: str) -> str:
    """A width in km as people write it: "0.5", "1.13", "2"."""
    decimals = next((d for d in (0, 1, 2) if abs(round(size, d) - size) < 1e-9), 2)
    return format_number(size, language, decimals)


def _name(figure: HexFigure, layer: HexLayer, language: str, _: Gettext) -> str:
    if figure.name:
        return figure.name
    return _("Hexagon {km} km across").format(km=_km(layer.size_km, language))


def column_caption(
    layer: HexLayer, measure: Measure, max_columns: int, size_km: float, webgl: bool, language: str
) -> str:
    """What the page says under the columns: what a column is (a site, or a hexagon
    combining more sites than ``max_columns`` columns would show, and of which width,
    ``size_km`` being the one configured), how it combines, what colour means, and how
    many sites lie outside the city's box."""
    _ = _t(language)
    how = _(twin3d.HOW[measure.aggregation])
    label = _(measure.label)
    if layer.single_sites:
        text = (
            _("Height: {measure} per site; colour: against typical.")
            if webgl
            else _("No 3D in this browser (no WebGL): {measure} per site, flat.")
        ).format(measure=label)
    else:
        sites = sum(f.sites for f in layer.figures)
        text = _(
            "{sites} sites are more than {max} columns: {measure} per hexagon "
            "{km} km across ({how}), in {count} hexagons; colour: against typical."
        ).format(
            sites=format_number(sites, language),
            max=format_number(max_columns, language),
            measure=label,
            km=_km(layer.size_km, language),
            how=how,
            count=format_number(len(layer.figures), language),
        )
        if layer.size_km > size_km:
            text += " " + _("Hexagons widened from {km} km to draw at most {max}.").format(
                km=_km(size_km, language), max=format_number(max_columns, language)
            )
        if not webgl:
            text += " " + _("No 3D in this browser (no WebGL): drawn flat.")
    if webgl:
        text += " " + _("Drag to rotate, right-drag to move, scroll to zoom.")
    if layer.outside:
        text += " " + _("{n} sites outside the city's area are left out.").format(
            n=format_number(layer.outside, language)
        )
    if not layer.figures:
        text += " " + _("No site has data at this moment.")
    return text


def columns_view(
    city: City,
    role: str,
    layer_id: str,
    moment: datetime | None,
    webgl: bool,
    language: str,
) -> dict[str, Any]:
    """The columns' figure (3D with ``webgl``, else flat), caption and the time machine's
    label for ``layer_id`` as ``role`` sees it at ``moment`` (None: live), by output name.
    Raises ``PreventUpdate`` for a layer ``role`` may not see or that does not exist."""
    _ = _t(language)
    answer = city.columns(role, layer_id, moment)
    if answer is None:
        raise PreventUpdate
    measure, layer = answer
    view = city.view(role) if moment is None else city.view_at(role, moment)
    tz = city.config.city.timezone
    labels = [
        twin3d.place_label(
            _name(f, layer, language, _),
            f,
            measure,
            view.sources,
            view.generated,
            tz,
            view.min_group_size,
            language,
            _,
        )
        for f in layer.figures
    ]
    ground = twin3d.ground_of(city.district_shapes())
    per = _("{measure} per site") if layer.single_sites else _("{measure} per hexagon")
    title = per.format(measure=_(measure.label))
    if webgl:
        # One scale for every moment of a replay: the tallest column now.
        live = city.columns(role, layer_id) if moment is not None else answer
        reference = max((f.value for f in live[1].figures), default=0.0) if live else 0.0
        figure = twin3d_columns.column_figure(ground, layer, labels, title, _, reference)
    else:
        figure = twin3d_columns.flat_column_figure(ground, layer, labels, title, _)
    twin = city.config.twin
    caption = column_caption(layer, measure, twin.max_columns, twin.hexagon_km, webgl, language)
    return {
        "figure": figure,
        "caption": caption,
        "moment": tm.moment_label(moment, tz, language, _),
    }
