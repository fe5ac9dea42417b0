"""`python -m gateway` is `backhaul`."""

from gateway.cli import main

main()
