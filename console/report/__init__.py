"""Reports an auditor can file: an incident or one message, as a PDF or as its people table.

`model` (the frozen values a report holds), `table` (the people table as CSV or JSON),
`chart` (the answers-over-time drawing), `pdf` (the whole document, with ReportLab).
Gathering from the database is console.services.reports'. No Qt here: reports are made
from the command line without a display.
"""
