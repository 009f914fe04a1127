"""Policy models: clauses, parameters, safe expressions, and the claims table they yield."""
