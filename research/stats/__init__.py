"""Pure statistics of the gauntlet's rungs: numpy/scipy/arch in, RungVerdict out; no Django, no engine."""
