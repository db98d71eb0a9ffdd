"""`copier update` on services generated long ago and changed by their owners since: the
template repository at each release, the owner's changes, and the tests."""
