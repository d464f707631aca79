"""cmdlib package."""
