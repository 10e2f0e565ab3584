#pragma once
// FHIRPath N1 parser: a hand-written lexer and precedence-climbing parser that turns
// expression text into the AST of ast.hpp, resolving functions, arity and type specifiers
// on the way. Errors are Error::invalid naming the character offset ("at 12: ...").
// Pure function; thread-safe.

#include <memory>
#include <string_view>

#include "protocols/fhir/fhirpath/ast.hpp"
#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::fhirpath {

Result<std::unique_ptr<AstNode>> parse_expression(std::string_view text, CompileLimits limits);

// Resolves a type name as written after is/as/ofType ("Quantity", "FHIR.string",
// "System.Integer"); Error::invalid for an unqualified name neither model knows.
Result<TypeSpec> resolve_type_spec(std::string_view text);

}  // namespace cg::fhirpath
