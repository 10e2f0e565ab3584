# Tests of the MLLP transport: the pure framer, and the server over loopback (plain, TLS,
# client certificates; Debian python3-hl7's mllp_send when installed). The server tests
# reuse the HTTP tests' socket client and test certificates.
cg_add_unit_test(hl7v2_mllp_framer_test SOURCES mllp_framer_test.cpp LIBS cg_mllp_framer)
cg_add_unit_test(hl7v2_mllp_server_test SOURCES mllp_server_test.cpp
  LIBS cg_mllp cg_http_test_support)
