"""City Cockpit's views: the desktop cockpit, the public kiosk, the staff phone view, the
open-data pages and API, and their shared components.

Layouts read data only through ``cockpit.city.City``; they never call a connector.
"""
