"""Plain files the application reads at run time: stylesheets, icons, web page templates, demo data.

Read them through an accessor (console.gui.resources for the desktop), never by path.
"""
