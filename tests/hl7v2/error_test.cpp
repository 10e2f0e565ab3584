#include "protocols/hl7v2/error.hpp"

#include <doctest/doctest.h>

using namespace cg;
using namespace cg::hl7v2;

TEST_CASE("an HL7 error carries its 0357 code and ERR-2 location through cg::Error") {
  Error e = make_error(ErrorCode::kRequiredFieldMissing, "MSH-10 is missing", {"MSH", 1, 10});
  CHECK(e.kind == ErrorKind::kInvalid);
  CHECK(e.message == "MSH-10 is missing");
  CHECK(e.location == "MSH[1]-10 #101");
  CHECK(error_code(e) == ErrorCode::kRequiredFieldMissing);
  auto where = error_location(e);
  REQUIRE(where);
  CHECK(*where == ErrorLocation{"MSH", 1, 10, 0, 0, 0});
}

TEST_CASE("a location down to the subcomponent survives the round trip") {
  ErrorLocation loc{"OBX", 3, 5, 2, 4, 1};
  CHECK(to_string(loc) == "OBX[3]-5(2).4.1");
  Error e = make_error(ErrorCode::kDataTypeError, "bad value", loc);
  CHECK(error_location(e) == loc);
}

TEST_CASE("a message-level error has a code but no location") {
  Error e = make_error(ErrorCode::kApplicationInternalError, ErrorKind::kTooLarge, "too big");
  CHECK(e.kind == ErrorKind::kTooLarge);
  CHECK(e.location == "#207");
  CHECK(error_code(e) == ErrorCode::kApplicationInternalError);
  CHECK_FALSE(error_location(e));
}

TEST_CASE("the kind follows from the code unless given") {
  CHECK(make_error(ErrorCode::kSegmentSequenceError, "").kind == ErrorKind::kInvalid);
  CHECK(make_error(ErrorCode::kUnsupportedMessageType, "").kind == ErrorKind::kUnsupported);
  CHECK(make_error(ErrorCode::kUnsupportedVersionId, "").kind == ErrorKind::kUnsupported);
  CHECK(make_error(ErrorCode::kUnknownKeyIdentifier, "").kind == ErrorKind::kNotFound);
  CHECK(make_error(ErrorCode::kDuplicateKeyIdentifier, "").kind == ErrorKind::kConflict);
  CHECK(make_error(ErrorCode::kApplicationRecordLocked, "").kind == ErrorKind::kUnavailable);
  CHECK(make_error(ErrorCode::kApplicationInternalError, "").kind == ErrorKind::kInternal);
}

TEST_CASE("errors from other modules get a code from their kind and no location") {
  CHECK(error_code(Error::invalid("x", "Patient.name")) == ErrorCode::kDataTypeError);
  CHECK(error_code(Error::unsupported("x")) == ErrorCode::kUnsupportedMessageType);
  CHECK(error_code(Error::not_found("x")) == ErrorCode::kUnknownKeyIdentifier);
  CHECK(error_code(Error::conflict("x")) == ErrorCode::kDuplicateKeyIdentifier);
  CHECK(error_code(Error::unavailable("x")) == ErrorCode::kApplicationInternalError);
  CHECK(error_code(Error::internal("x")) == ErrorCode::kApplicationInternalError);
  CHECK_FALSE(error_location(Error::invalid("x", "Patient.name")));
  // A '#' that is not followed by a known code is not one.
  CHECK(error_code(Error{ErrorKind::kInternal, "", "PID[1]-3 #999"}) ==
        ErrorCode::kApplicationInternalError);
  CHECK(error_code(Error{ErrorKind::kInvalid, "", "Patient.identifier#x"}) ==
        ErrorCode::kDataTypeError);
}

TEST_CASE("every code has its table 0357 text") {
  CHECK(error_code_text(ErrorCode::kSegmentSequenceError) == "Segment sequence error");
  CHECK(error_code_text(ErrorCode::kRequiredFieldMissing) == "Required field missing");
  CHECK(error_code_text(ErrorCode::kDataTypeError) == "Data type error");
  CHECK(error_code_text(ErrorCode::kUnsupportedMessageType) == "Unsupported message type");
  CHECK(error_code_text(ErrorCode::kApplicationInternalError) == "Application internal error");
  for (int code : {100, 101, 102, 103, 104, 200, 201, 202, 203, 204, 205, 206, 207}) {
    CAPTURE(code);
    CHECK_FALSE(error_code_text(static_cast<ErrorCode>(code)).empty());
  }
}
