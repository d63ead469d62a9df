#!/bin/sh
# Placeholder until kiln-run exists.
exit 0
