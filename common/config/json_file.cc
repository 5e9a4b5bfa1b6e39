#include "common/config/json_file.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>

namespace grid::config {

absl::Status ParseJson(std::string_view json, std::string_view what,
                       google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  message.Clear();
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (!status.ok()) {
    message.Clear();
    return absl::InvalidArgumentError(std::string(what) + ": " + std::string(status.message()));
  }
  return absl::OkStatus();
}

absl::Status LoadJsonFile(const std::filesystem::path& path, google::protobuf::Message& message) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(path.string() + ": cannot open");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseJson(buffer.str(), path.string(), message);
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string out;
  // Printing a valid message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace grid::config
