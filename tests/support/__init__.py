"""What the meta-suite and the benchmarks share: rendering projects and running their checks,
parsing the files they ship, making mutants and edits. No tests here."""
