"""The assessment service: composes city, policy and risk into one result per service and operator."""
