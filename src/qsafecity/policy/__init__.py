"""Tiers, protection profiles, contracts and obligations, compliance, the support programme (pure)."""
