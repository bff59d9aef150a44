"""What the emulator, the reference server and the relay share on the network side.

One address parser, one network loop, one tinydtls layer, one DTLS record reader: the three
programs beside the module stand on this package and on nothing else of the project.
"""
