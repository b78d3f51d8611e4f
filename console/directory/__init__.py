"""Directory: contacts, groups, CSV import (no Qt)."""
