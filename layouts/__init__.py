"""City Cockpit's views (cockpit, and later kiosk and mobile) and their shared components.

Layouts read data only through ``cockpit.city.City``; they never call a connector.
"""
