"""The evaluation suite: config -> dataset -> runners -> metrics -> tables -> report."""
