#pragma once
// The compiled form of a FHIRPath expression: a tree of AstNodes with everything that can
// be decided before evaluation already decided (function ids and arity, literal values,
// type specifiers resolved against the definitions). Internal to cg_fhirpath; immutable
// after parse_expression() returns.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/fhirpath/item.hpp"
#include "protocols/fhir/model/definitions.hpp"

namespace cg::fhirpath {

enum class BinaryOp : std::uint8_t {
  kMul,
  kDiv,
  kIntDiv,
  kMod,
  kAdd,
  kSub,
  kConcat,
  kUnion,
  kLt,
  kGt,
  kLe,
  kGe,
  kEq,
  kNe,
  kEquiv,
  kNotEquiv,
  kIn,
  kContains,
  kAnd,
  kOr,
  kXor,
  kImplies,
};

// Every function of the library; kNone last.
enum class FunctionId : std::uint8_t {
#define CG_FHIRPATH_FUNCTION(id, name, min_args, max_args, group) id,
#include "protocols/fhir/fhirpath/functions.def"
#undef CG_FHIRPATH_FUNCTION
  kNone
};

// The families of the function library, one evaluator member each (functions.cpp).
enum class FunctionGroup : std::uint8_t {
  kExistence,
  kFiltering,
  kSubsetting,
  kConversion,
  kString,
  kMath,
  kFhir,
  kUtility,
  kPrecision,
  kUnsupported,  // recognised so that calls compile, but report an error when evaluated
};

struct FunctionInfo {
  std::string_view name;
  FunctionId id;
  std::uint8_t min_args;
  std::uint8_t max_args;
  FunctionGroup group;
};
const FunctionInfo* find_function(std::string_view name);
FunctionGroup function_group(FunctionId id);

// The System types; kNone when a type specifier names a FHIR type.
enum class SystemType : std::uint8_t {
  kNone,
  kBoolean,
  kString,
  kInteger,
  kDecimal,
  kDate,
  kDateTime,
  kTime,
  kQuantity,
  kAny,
};

// A resolved type specifier: `Quantity`, `FHIR.boolean`, `System.Integer`.
struct TypeSpec {
  std::string text;  // as written, for messages and type()
  fhir::TypeId fhir_type = fhir::kNoType;
  SystemType system = SystemType::kNone;
  bool matches_nothing = false;  // a qualified name that exists in neither model
};

struct AstNode {
  enum class Kind : std::uint8_t {
    kLiteral,   // value
    kEmpty,     // {}
    kThis,      // $this
    kIndex,     // $index
    kTotal,     // $total
    kExternal,  // %name
    kMember,    // [target.]name
    kFunction,  // [target.]name(args)
    kIndexer,   // target[args[0]]
    kNegate,    // -target
    kBinary,    // args[0] op args[1]
    kIs,        // target is type
    kAs,        // target as type
  };
  Kind kind = Kind::kEmpty;
  std::size_t position = 0;  // character offset in the expression, for messages
  std::optional<Item> value;
  std::string name;
  FunctionId function = FunctionId::kNone;
  BinaryOp op = BinaryOp::kAdd;
  TypeSpec type;
  std::unique_ptr<AstNode> target;  // null: the implicit input
  std::vector<std::unique_ptr<AstNode>> args;
};

}  // namespace cg::fhirpath
