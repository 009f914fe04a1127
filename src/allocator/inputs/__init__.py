"""Reading what a user hands in: YAML, the data schema, enterprise data, scenarios, templates."""
