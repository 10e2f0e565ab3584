#pragma once
// The tree-walking evaluator behind evaluate(): model-aware navigation (model.cpp),
// operators (evaluator.cpp) and the function library (functions.cpp) share this class.
// One Evaluator serves one evaluation on one thread; it holds only references to the
// caller's context and JSON. Internal to cg_fhirpath.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocols/fhir/fhirpath/ast.hpp"
#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/fhirpath/item.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::fhirpath {

// What $this, $index and $total stand for inside a function argument.
struct Frame {
  std::span<const Item> this_items;
  std::int64_t index = -1;
  const Collection* total = nullptr;
};

// --- model navigation (model.cpp) -----------------------------------------------------

// The FHIR type of a JSON value found as element `name` of a value of type `owner`.
fhir::TypeId resource_type_of(const boost::json::value& v);
// Appends the children called `name` of a node item. `known` tells whether the owner's
// definition has such an element (or `name` is its type name), for strict mode.
void member_items(const Item& item, std::string_view name, Collection& out, bool& known);
// All child nodes of a node item, in JSON order.
void child_items(const Item& item, Collection& out);
// True when `type` is `ancestor` or derives from it.
bool derives_from(fhir::TypeId type, fhir::TypeId ancestor);
// is: with inheritance; as/ofType: exact type.
bool item_is(const Item& item, const TypeSpec& spec, bool exact);

// --- comparison helpers (evaluator.cpp) -----------------------------------------------

// `=` on single items: nullopt when the answer is empty (incomparable precision / units).
std::optional<bool> items_equal(const Item& a, const Item& b);
bool items_equivalent(const Item& a, const Item& b);
// Collection equality as `=` defines it (ordered, item-wise); nullopt for empty.
std::optional<bool> collections_equal(const Collection& a, const Collection& b);

// One function call being evaluated: the call, the collection where it appears (arguments
// are evaluated against it) with its frame, and the call's own input.
struct CallSite {
  const AstNode& n;
  std::span<const Item> outer;
  const Frame& frame;
  std::span<const Item> in;
};

class Evaluator {
 public:
  Evaluator(const EvalContext& ctx, Collection context, Collection resource,
            Collection root_resource, Temporal now)
      : ctx_(ctx),
        context_(std::move(context)),
        resource_(std::move(resource)),
        root_resource_(std::move(root_resource)),
        now_(now) {}

  Result<Collection> eval(const AstNode& n, std::span<const Item> input, const Frame& frame);

  // functions.cpp
  Result<Collection> call(const AstNode& n, std::span<const Item> input, const Frame& frame);

  // Singleton evaluation of a collection as a Boolean (true / false / nullopt = empty).
  Result<std::optional<bool>> as_boolean(const Collection& c, const AstNode& at);
  // The single System value of a collection, nullopt when empty; error for several items.
  Result<std::optional<Item>> singleton(const Collection& c, const AstNode& at);
  Error error(const AstNode& at, std::string_view message) const;
  Status check_size(const Collection& c, const AstNode& at) const;
  // Strict mode: `n` (skip, take, first, last, tail, single, [i]) must not be applied
  // directly to children() or descendants().
  Status check_ordered(const AstNode& n) const;

  // Counts `ops` units of work against EvalContext::max_operations; false once exhausted.
  bool within_budget(std::size_t ops) {
    operations_ += ops;
    return operations_ <= ctx_.max_operations;
  }

  const EvalContext& context() const { return ctx_; }
  const Temporal& now() const { return now_; }
  const Collection& resource() const { return resource_; }

 private:
  Result<Collection> binary(const AstNode& n, std::span<const Item> input, const Frame& frame);
  Result<Collection> arithmetic(const AstNode& n, const Collection& a, const Collection& b);
  Result<Collection> compare(const AstNode& n, const Collection& a, const Collection& b);
  Result<Collection> member(const AstNode& n, std::span<const Item> input);
  Result<Collection> external(const AstNode& n);
  // functions.cpp: argument helpers and one member per FunctionGroup.
  Result<Collection> arg(const CallSite& site, std::size_t i);
  Result<Collection> arg_for(const CallSite& site, std::size_t arg, std::size_t item);
  Result<std::optional<Item>> single_arg(const CallSite& site, std::size_t i);
  Result<std::optional<std::int64_t>> int_arg(const CallSite& site, std::size_t i);
  Result<std::optional<std::string>> string_arg(const CallSite& site, std::size_t i);
  Result<std::optional<Item>> input_single(const CallSite& site);
  Result<std::optional<std::string>> input_string(const CallSite& site);
  Result<Collection> existence(const CallSite& site);
  Result<Collection> filtering(const CallSite& site);
  Result<Collection> subsetting(const CallSite& site);
  Result<Collection> conversion(const CallSite& site);
  Result<Collection> string_function(const CallSite& site);
  Result<Collection> math_function(const CallSite& site);
  Result<Collection> fhir_function(const CallSite& site);
  Result<Collection> utility_function(const CallSite& site);
  Result<Collection> precision_function(const CallSite& site);
  Result<Collection> sort_items(const AstNode& n, std::span<const Item> in);
  Result<Collection> resolve_references(const AstNode& n, std::span<const Item> in);
  const boost::json::value* find_local_reference(std::string_view ref) const;

  const EvalContext& ctx_;
  Collection context_;
  Collection resource_;
  Collection root_resource_;
  Temporal now_;
  std::size_t depth_ = 0;
  std::size_t operations_ = 0;
};

}  // namespace cg::fhirpath
