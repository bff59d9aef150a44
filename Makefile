# Thin wrappers around ./suite, for those who type make.
.PHONY: conformance test selfcheck bench
conformance:
	./suite conformance
test:
	./suite test
selfcheck:
	./suite selfcheck
bench:
	./suite bench
