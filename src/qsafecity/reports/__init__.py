"""Renderings of results for people and machines: terminal tables, JSON documents, HTML reports."""
