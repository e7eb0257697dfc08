"""Readers for the kinds of source the load stage accepts besides plain text and HTML files."""
