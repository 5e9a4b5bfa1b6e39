#include "services/console/json_api.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/console/router.h"

namespace grid::console {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::unique_ptr<Message> NewMessage(const Descriptor& type) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(&type)->New());
}

const FieldDescriptor* FindField(const Descriptor& type, const std::string& name) {
  const FieldDescriptor* field = type.FindFieldByName(name);
  return field != nullptr ? field : type.FindFieldByCamelcaseName(name);
}

// A message field a query parameter can carry: the well-known types whose JSON is a string.
bool IsScalarLike(const FieldDescriptor& field) {
  if (field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return true;
  }
  const std::string& name = field.message_type()->full_name();
  return name == "google.protobuf.Timestamp" || name == "google.protobuf.Duration" ||
         name == "google.protobuf.FieldMask";
}

std::string FieldNames(const Descriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.field_count(); ++i) {
    names.push_back(type.field(i)->name());
  }
  return absl::StrJoin(names, ", ");
}

absl::Status ParseJson(std::string_view text, Message& message, const char* what) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message().as_string()));
  }
  return absl::OkStatus();
}

// The JSON object a GET's query parameters stand for, by the request's descriptor.
absl::StatusOr<std::string> QueryJson(const Descriptor& type, const QueryParams& query,
                                      const std::map<std::string, std::string>& path_params) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [name, value] : query) {
    const FieldDescriptor* field = FindField(type, name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter \"", name, "\": unknown; ",
                                                     type.full_name(), " has ", FieldNames(type)));
    }
    if (path_params.contains(field->name())) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\": it comes from the path"));
    }
    if (!IsScalarLike(*field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\": a message cannot be given in the query"));
    }
    nlohmann::json& slot = object[field->name()];
    if (field->is_repeated()) {
      slot.push_back(value);
    } else if (!slot.is_null()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\": given more than once"));
    } else {
      slot = value;
    }
  }
  try {
    return object.dump();
  } catch (const nlohmann::json::exception&) {
    return absl::InvalidArgumentError("query: a value is not valid UTF-8");
  }
}

}  // namespace

absl::StatusOr<QueryParams> ParseQuery(std::string_view query) {
  QueryParams out;
  for (absl::string_view piece :
       absl::StrSplit(absl::string_view(query.data(), query.size()), '&', absl::SkipEmpty())) {
    const std::size_t equals = piece.find('=');
    std::string raw_name(piece.substr(0, equals));
    std::string raw_value(equals == std::string_view::npos ? "" : piece.substr(equals + 1));
    std::replace(raw_name.begin(), raw_name.end(), '+', ' ');
    std::replace(raw_value.begin(), raw_value.end(), '+', ' ');
    std::string name;
    std::string value;
    if (!PercentDecode(raw_name, name) || name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query: malformed parameter name \"", raw_name, "\""));
    }
    if (!PercentDecode(raw_value, value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", name, "\": malformed percent-encoding"));
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Message>> BuildRequest(
    const google::protobuf::MethodDescriptor& method,
    const std::map<std::string, std::string>& path_params, const QueryParams& query,
    std::string_view body, bool from_body) {
  const Descriptor& type = *method.input_type();
  std::unique_ptr<Message> message = NewMessage(type);
  if (from_body) {
    if (!query.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("query parameter \"", query.front().first,
                                                     "\": a POST takes its fields in the body"));
    }
    if (auto status = ParseJson(body.empty() ? std::string_view("{}") : body, *message, "body");
        !status.ok()) {
      return status;
    }
    for (const auto& [name, value] : path_params) {
      const FieldDescriptor* field = type.FindFieldByName(name);
      if (field != nullptr && message->GetReflection()->HasField(*message, field)) {
        return absl::InvalidArgumentError(
            absl::StrCat("body: ", name, ": it comes from the path, not the body"));
      }
    }
  } else {
    absl::StatusOr<std::string> json = QueryJson(type, query, path_params);
    if (!json.ok()) {
      return json.status();
    }
    if (auto status = ParseJson(*json, *message, "query"); !status.ok()) {
      return status;
    }
  }
  for (const auto& [name, value] : path_params) {
    const FieldDescriptor* field = type.FindFieldByName(name);
    // The routes are ours: a path parameter that is no string field of the request is a bug.
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
        field->is_repeated()) {
      std::cerr << "console: route parameter " << name << " is no string field of "
                << type.full_name() << "\n";
      std::abort();
    }
    message->GetReflection()->SetString(message.get(), field, value);
  }
  return message;
}

std::string ToJson(const Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Printing a valid message cannot fail.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

Response JsonResponse(int status, std::string body, unsigned version, bool keep_alive) {
  Response response(static_cast<http::status>(status), version);
  response.set(http::field::content_type, "application/json; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.keep_alive(keep_alive);
  response.prepare_payload();
  return response;
}

Response ErrorResponse(const ApiError& error, unsigned version, bool keep_alive) {
  Response response = JsonResponse(error.http, ErrorJson(error), version, keep_alive);
  if (error.http == 429 && error.retry_after_ms.has_value()) {
    response.set(http::field::retry_after,
                 std::to_string(RetryAfterSeconds(*error.retry_after_ms)));
  }
  return response;
}

Response ToResponse(const ApiAnswer& answer, unsigned version, bool keep_alive) {
  return answer.ok ? JsonResponse(200, answer.json, version, keep_alive)
                   : ErrorResponse(answer.error, version, keep_alive);
}

JsonApi::JsonApi(Gateway& gateway, std::chrono::milliseconds deadline)
    : gateway_(gateway), deadline_(deadline) {}

void JsonApi::Call(const std::string& rpc, const std::map<std::string, std::string>& path_params,
                   const QueryParams& query, std::string_view body, bool from_body,
                   const std::string& token, std::function<void(ApiAnswer)> done) {
  const google::protobuf::MethodDescriptor* method = GatewayMethod(rpc);
  if (method == nullptr) {
    std::cerr << "console: no GatewayService method " << rpc << "\n";
    std::abort();
  }
  auto request = BuildRequest(*method, path_params, query, body, from_body);
  if (!request.ok()) {
    done(ApiAnswer{
        false, "",
        MakeError(grpc::StatusCode::INVALID_ARGUMENT, std::string(request.status().message()))});
    return;
  }
  CallMessage(rpc, token, std::shared_ptr<Message>(*std::move(request)),
              [done = std::move(done)](const CallResult& result, const Message& response) {
                if (result.status.ok()) {
                  done(ApiAnswer{true, ToJson(response), {}});
                } else {
                  done(ApiAnswer{false, "", FromGrpc(result.status, result.retry_after_ms)});
                }
              });
}

void JsonApi::CallMessage(const std::string& rpc, const std::string& token,
                          std::shared_ptr<Message> request,
                          std::function<void(const CallResult&, const Message&)> done) {
  const google::protobuf::MethodDescriptor* method = GatewayMethod(rpc);
  if (method == nullptr) {
    std::cerr << "console: no GatewayService method " << rpc << "\n";
    std::abort();
  }
  std::shared_ptr<Message> response = NewMessage(*method->output_type());
  gateway_.Call(
      *method, CallOptions{token, deadline_, ""}, *request, response.get(),
      [request, response, done = std::move(done)](CallResult result) { done(result, *response); });
}

}  // namespace grid::console
