// The JSON API over GatewayService (API.md, "Reads" and "Moves"): an HTTP request of an RPC route
// becomes the RPC's request message (path parameters, query parameters or the JSON body), the
// gateway answers, and its response or status becomes the HTTP response. Protobuf's own JSON
// mapping does the parsing and printing; the console adds no rule.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/console/api_error.h"
#include "services/console/exchange.h"
#include "services/console/gateway.h"

namespace grid::console {

// Decoded query parameters, in order, repeated names repeated.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits and percent-decodes a query string ("a=1&b=x%20y", '+' is a space). INVALID_ARGUMENT
// naming the parameter whose escape is malformed.
absl::StatusOr<QueryParams> ParseQuery(std::string_view query);

// The request message of `method`: the path parameters set, and the rest from the query (a GET)
// or from `body` (a POST: a JSON object, empty for none). INVALID_ARGUMENT naming the parameter
// or field at fault: unknown, given twice, not valid for its type, or a path parameter given again
// in the body or the query.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const google::protobuf::MethodDescriptor& method,
    const std::map<std::string, std::string>& path_params, const QueryParams& query,
    std::string_view body, bool from_body);

// The API's JSON of a message: proto field names, defaults printed, enums by name.
std::string ToJson(const google::protobuf::Message& message);

// A JSON response with `status` and `body`, Cache-Control: no-store.
Response JsonResponse(int status, std::string body, unsigned version, bool keep_alive);
// The error response of `error` (with Retry-After for a 429 that has a hint).
Response ErrorResponse(const ApiError& error, unsigned version, bool keep_alive);

// What an API call answers: the response message's JSON, or an error.
struct ApiAnswer {
  bool ok = false;
  std::string json;
  ApiError error;
};

// The HTTP response of an answer: 200 with the JSON, or the error response.
Response ToResponse(const ApiAnswer& answer, unsigned version, bool keep_alive);

// Calls the gateway for RPC routes. Thread-safe; borrows the gateway.
class JsonApi final {
 public:
  // `deadline`: each call's own deadline.
  JsonApi(Gateway& gateway, std::chrono::milliseconds deadline);

  // Builds the request of `rpc` ("GetEvent"), calls the gateway with `token`, and hands the
  // response (200 with the RPC's response message, or the error) to `done`, on a gRPC thread or
  // at once when the request cannot be built.
  void Call(const std::string& rpc, const std::map<std::string, std::string>& path_params,
            const QueryParams& query, std::string_view body, bool from_body,
            const std::string& token, std::function<void(ApiAnswer)> done);

  // Calls `rpc` with a ready request; `done` gets the status and the response.
  void CallMessage(const std::string& rpc, const std::string& token,
                   std::shared_ptr<google::protobuf::Message> request,
                   std::function<void(const CallResult&, const google::protobuf::Message&)> done);

 private:
  Gateway& gateway_;
  std::chrono::milliseconds deadline_;
};

}  // namespace grid::console
