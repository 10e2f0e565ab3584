#include "storage/index_sql.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace cg::storage {

std::string json_list(const std::vector<std::string>& values) {
  boost::json::array array;
  for (const auto& v : values) array.emplace_back(v);
  return boost::json::serialize(array);
}

std::string_view table_name(IndexTable table) {
  switch (table) {
    case IndexTable::kString:
      return "idx_string";
    case IndexTable::kToken:
      return "idx_token";
    case IndexTable::kDate:
      return "idx_date";
    case IndexTable::kNumber:
      return "idx_number";
    case IndexTable::kQuantity:
      return "idx_quantity";
    case IndexTable::kReference:
      return "idx_reference";
    case IndexTable::kPosition:
      return "idx_position";
    case IndexTable::kUri:
      return "idx_uri";
  }
  return "idx_token";
}

void type_match(Sql& sql, const std::string& column, const std::vector<std::string>& types) {
  if (types.size() == 1) {
    sql << column << " = ";
    sql.bind(types.front());
  } else {
    sql << column << " IN (SELECT value FROM json_each(";
    sql.bind(json_list(types)) << "))";
  }
}

}  // namespace cg::storage
