# A package, so this directory's conftest.py does not shadow tests/conftest.py
# (other tests do `from conftest import ...`).
