"""What the emulator, the reference server and the relay share on the network side.

One address parser (address), one network loop (loop), one tinydtls layer (tinydtls), one DTLS
record reader (dtls_records), one way to refuse a bad command-line argument (cli), one fork
server that starts a program's runs from a warm interpreter (forkserver): the three programs
beside the module stand on this package and on nothing else of the project.
"""
