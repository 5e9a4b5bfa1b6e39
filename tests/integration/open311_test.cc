// The console's Open311 GeoReport v2 door on the real stack, driven with curl as a client system
// would: services in JSON and XML, a request posted with the stack's api key filed in the grid
// whose centre is its location, with source OPEN311, and dispatched; read back by id, by search
// and by token; the spec's errors. Every XML answer must pass `xmllint --noout`, and the JSON
// answers have the field names and types of the spec's examples.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "tests/support/poll.h"
#include "tests/support/stack.h"
#include "tests/support/stack_test.h"

namespace grid {
namespace {

using nlohmann::json;
using testing::Stack;

// A grid of Zhangjiajian community and its centre (deploy/config/laoshan-topology.json).
constexpr char kGrid[] = "37021200100101";
constexpr char kLat[] = "36.113337";
constexpr char kLong[] = "120.433758";

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs a shell command; its exit code, and its output (stdout and stderr) in `output`.
int RunCommand(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return -1;
  }
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    output.append(buffer, n);
  }
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Answer {
  int status = 0;
  std::string content_type;
  std::string retry_after;
  std::string body;
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

class Open311Test : public testing::StackTest {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.console = true;
    StartStack(std::move(options));
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("open311-test-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    StackTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", stack_->console_port(), "/open311/v2/", path);
  }

  // curl with `args` (already quoted); the status, headers and body. An XML answer is checked
  // with xmllint on the way.
  Answer Curl(const std::string& args) {
    const std::filesystem::path body = dir_ / "body";
    const std::filesystem::path headers = dir_ / "headers";
    std::string output;
    const int code = RunCommand(absl::StrCat("curl -sS -o ", body.string(), " -D ",
                                             headers.string(), " -w '%{http_code}' ", args),
                                output);
    Answer answer;
    EXPECT_EQ(code, 0) << "curl " << args << ": " << output;
    answer.status = std::atoi(output.c_str());
    std::ifstream body_in(body);
    answer.body.assign(std::istreambuf_iterator<char>(body_in), std::istreambuf_iterator<char>());
    std::ifstream headers_in(headers);
    for (std::string line; std::getline(headers_in, line);) {
      const std::string lower = absl::AsciiStrToLower(line);
      const auto value = [&] {
        std::string v = line.substr(line.find(':') + 1);
        return std::string(absl::StripAsciiWhitespace(v));
      };
      if (lower.rfind("content-type:", 0) == 0) {
        answer.content_type = value();
      } else if (lower.rfind("retry-after:", 0) == 0) {
        answer.retry_after = value();
      }
    }
    if (answer.content_type.rfind("text/xml", 0) == 0) {
      ExpectWellFormed(answer.body, args);
    }
    return answer;
  }

  Answer Get(const std::string& path) { return Curl(ShellQuote(Url(path))); }

  // POST with each field as --data-urlencode (curl sends application/x-www-form-urlencoded).
  Answer Post(const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::string> args;
    for (const auto& [name, value] : fields) {
      args.push_back("--data-urlencode " + ShellQuote(name + "=" + value));
    }
    args.push_back(ShellQuote(Url(path)));
    return Curl(absl::StrJoin(args, " "));
  }

  void ExpectWellFormed(const std::string& xml, const std::string& what) {
    const std::filesystem::path file = dir_ / "answer.xml";
    std::ofstream(file) << xml;
    std::string output;
    EXPECT_EQ(RunCommand("xmllint --noout " + file.string(), output), 0)
        << what << ": " << output << "\n"
        << xml;
    ++xml_checked_;
  }

  // A new request at the grid's centre; its service_request_id.
  std::string PostRequest(const std::string& description = "市场门口垃圾堆积 & <三天>") {
    const Answer answer = Post("requests.json", {{"api_key", stack_->api_key()},
                                                 {"jurisdiction_id", "370212"},
                                                 {"service_code", "0102"},
                                                 {"lat", kLat},
                                                 {"long", kLong},
                                                 {"address_string", "张家涧社区 市场东门"},
                                                 {"description", description},
                                                 {"media_url", "https://img.example/a.jpg"},
                                                 {"email", "citizen@example.com"},
                                                 {"first_name", "Wei"},
                                                 {"last_name", "Zhang"},
                                                 {"phone", "13912345678"},
                                                 {"device_id", "device-77"},
                                                 {"account_id", "acct-88"}});
    EXPECT_EQ(answer.status, 200) << answer.body;
    const json posted = answer.Json();
    if (!posted.is_array() || posted.size() != 1 || !posted[0]["service_request_id"].is_string()) {
      ADD_FAILURE() << answer.body;
      return "";
    }
    return posted[0]["service_request_id"];
  }

  // Fails unless `answer` is the spec's error document with `status`; its description.
  static std::string ExpectError(const Answer& answer, int status) {
    EXPECT_EQ(answer.status, status) << answer.body;
    if (answer.content_type.rfind("text/xml", 0) == 0) {
      EXPECT_NE(answer.body.find(absl::StrCat("<errors><error><code>", status, "</code>")),
                std::string::npos)
          << answer.body;
      return answer.body;
    }
    const json errors = answer.Json();
    EXPECT_TRUE(errors.is_array() && errors.size() == 1) << answer.body;
    if (!errors.is_array() || errors.empty()) {
      return "";
    }
    EXPECT_EQ(errors[0].size(), 2u) << answer.body;
    EXPECT_TRUE(errors[0]["code"].is_number_integer()) << answer.body;
    EXPECT_EQ(errors[0]["code"], status);
    EXPECT_TRUE(errors[0]["description"].is_string()) << answer.body;
    return errors[0].value("description", "");
  }

  std::filesystem::path dir_;
  int xml_checked_ = 0;
};

// The spec's example of a service request, as names and JSON types ("datetime" is a string
// ending in +08:00; "number?" a number or null).
const std::vector<std::pair<std::string, std::string>>& RequestFields() {
  static const std::vector<std::pair<std::string, std::string>> fields = {
      {"service_request_id", "string"},
      {"status", "string"},
      {"status_notes", "string"},
      {"service_name", "string"},
      {"service_code", "string"},
      {"description", "string"},
      {"agency_responsible", "string"},
      {"service_notice", "string"},
      {"requested_datetime", "datetime"},
      {"updated_datetime", "datetime"},
      {"expected_datetime", "datetime?"},
      {"address", "string"},
      {"lat", "number"},
      {"long", "number"},
      {"media_url", "string"}};
  return fields;
}

void ExpectRequestShape(const json& item) {
  ASSERT_TRUE(item.is_object()) << item.dump();
  EXPECT_EQ(item.size(), RequestFields().size()) << item.dump();
  for (const auto& [name, type] : RequestFields()) {
    ASSERT_TRUE(item.contains(name)) << name << " in " << item.dump();
    const json& value = item[name];
    if (type == "string") {
      EXPECT_TRUE(value.is_string()) << name << ": " << value.dump();
    } else if (type == "number") {
      EXPECT_TRUE(value.is_number()) << name << ": " << value.dump();
    } else if (type == "datetime" || (type == "datetime?" && !value.is_null())) {
      ASSERT_TRUE(value.is_string()) << name << ": " << value.dump();
      const std::string text = value;
      EXPECT_EQ(text.size(), 25u) << name << ": " << text;
      EXPECT_EQ(text.substr(text.size() - 6), "+08:00") << name << ": " << text;
    }
  }
  EXPECT_TRUE(item["status"] == "open" || item["status"] == "closed") << item.dump();
}

TEST_F(Open311Test, ServicesAreListedInJsonAndXmlWithoutAKey) {
  const Answer services = Get("services.json");
  ASSERT_EQ(services.status, 200) << services.body;
  EXPECT_EQ(services.content_type, "application/json; charset=utf-8");
  const json list = services.Json();
  ASSERT_TRUE(list.is_array());
  ASSERT_GT(list.size(), 40u);
  bool found = false;
  for (const json& service : list) {
    // The spec's example: service_code, service_name, description, metadata, type, keywords,
    // group.
    EXPECT_EQ(service.size(), 7u) << service.dump();
    EXPECT_TRUE(service["service_code"].is_string());
    EXPECT_EQ(service["service_code"].get<std::string>().size(), 4u) << "small classes only";
    EXPECT_TRUE(service["service_name"].is_string());
    EXPECT_TRUE(service["description"].is_string());
    EXPECT_EQ(service["metadata"], false);
    EXPECT_EQ(service["type"], "realtime");
    EXPECT_TRUE(service["keywords"].is_string());
    EXPECT_TRUE(service["group"].is_string());
    if (service["service_code"] == "0102") {
      found = true;
      EXPECT_EQ(service["service_name"], "暴露垃圾");
      EXPECT_EQ(service["group"], "市容环境");
    }
  }
  EXPECT_TRUE(found) << services.body;

  const Answer xml = Get("services.xml");
  ASSERT_EQ(xml.status, 200);
  EXPECT_EQ(xml.content_type, "text/xml; charset=utf-8");
  EXPECT_NE(xml.body.find("<service_code>0102</service_code><service_name>暴露垃圾</service_name>"),
            std::string::npos)
      << xml.body;

  const Answer definition = Get("services/0102.json");
  ASSERT_EQ(definition.status, 200);
  EXPECT_EQ(definition.Json(), json({{"service_code", "0102"}, {"attributes", json::array()}}));
  const Answer definition_xml = Get("services/0102.xml");
  EXPECT_EQ(definition_xml.status, 200);
  ExpectError(Get("services/9999.xml"), 404);
  ExpectError(Get("services/0102.csv"), 404);
  EXPECT_EQ(xml_checked_, 3);
}

TEST_F(Open311Test, APostedRequestIsFiledInTheNearestGridAndTrackedToDispatch) {
  const std::string id = PostRequest();
  ASSERT_FALSE(id.empty());

  // Through the gateway, as an admin: the grid of the location, the source of the key's client.
  const v1::Event event =
      AwaitWhere(id, [](const v1::Event& e) { return e.state() == v1::EVENT_STATE_DISPATCHED; });
  EXPECT_EQ(event.grid_id(), kGrid);
  EXPECT_EQ(event.source(), v1::SOURCE_OPEN311);
  EXPECT_EQ(event.category(), "0102");
  EXPECT_EQ(event.severity(), v1::SEVERITY_NORMAL);
  EXPECT_EQ(event.address(), "张家涧社区 市场东门");
  EXPECT_EQ(event.description(), "市场门口垃圾堆积 & <三天>");
  ASSERT_EQ(event.media_size(), 1);
  EXPECT_EQ(event.media(0), "https://img.example/a.jpg");
  const std::string stored = event.DebugString();
  for (const char* personal :
       {"citizen@example.com", "Wei", "Zhang", "13912345678", "device-77", "acct-88"}) {
    EXPECT_EQ(stored.find(personal), std::string::npos) << personal << " stored: " << stored;
  }

  // By id: open, dispatched to the unit that has it.
  const Answer one = Get(absl::StrCat("requests/", id, ".json?api_key=", stack_->api_key()));
  ASSERT_EQ(one.status, 200) << one.body;
  const json items = one.Json();
  ASSERT_EQ(items.size(), 1u) << one.body;
  const json& item = items[0];
  ExpectRequestShape(item);
  EXPECT_EQ(item["service_request_id"], id);
  EXPECT_EQ(item["status"], "open");
  EXPECT_EQ(item["status_notes"], "已派遣 DISPATCHED · " + event.unit_id());
  EXPECT_EQ(item["agency_responsible"], event.unit_id());
  EXPECT_EQ(item["service_code"], "0102");
  EXPECT_EQ(item["service_name"], "暴露垃圾");
  EXPECT_EQ(item["description"], "市场门口垃圾堆积 & <三天>");
  EXPECT_EQ(item["address"], "张家涧社区 市场东门");
  EXPECT_DOUBLE_EQ(item["lat"].get<double>(), 36.113337);
  EXPECT_DOUBLE_EQ(item["long"].get<double>(), 120.433758);
  EXPECT_EQ(item["media_url"], "https://img.example/a.jpg");
  EXPECT_TRUE(item["expected_datetime"].is_string()) << "a clock runs once dispatched";
  const Answer one_xml = Get(absl::StrCat("requests/", id, ".xml?api_key=", stack_->api_key()));
  ASSERT_EQ(one_xml.status, 200);
  EXPECT_NE(one_xml.body.find("<description>市场门口垃圾堆积 &amp; &lt;三天&gt;</description>"),
            std::string::npos)
      << one_xml.body;

  // By search: the service, the status, dates in Beijing time.
  const std::string since = absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez", absl::Now() - absl::Hours(1),
                                             absl::FixedTimeZone(8 * 3600));
  const auto search = [&](const std::string& filters) {
    const Answer answer =
        Get(absl::StrCat("requests.json?api_key=", stack_->api_key(), "&", filters));
    EXPECT_EQ(answer.status, 200) << filters << ": " << answer.body;
    std::set<std::string> ids;
    for (const json& found : answer.Json()) {
      ExpectRequestShape(found);
      ids.insert(found.value("service_request_id", ""));
    }
    return ids;
  };
  EXPECT_TRUE(search("service_code=0102&status=open").contains(id));
  EXPECT_TRUE(search("start_date=" + absl::StrReplaceAll(since, {{"+", "%2B"}})).contains(id));
  EXPECT_FALSE(search("status=closed").contains(id));
  EXPECT_FALSE(search("service_code=0101").contains(id));
  EXPECT_EQ(
      search(absl::StrCat("service_request_id=", id, ",370212001-0000000000000000&status=closed")),
      std::set<std::string>{id});
  const Answer search_xml =
      Get(absl::StrCat("requests.xml?api_key=", stack_->api_key(), "&status=open"));
  EXPECT_EQ(search_xml.status, 200);

  // The token is the id.
  const Answer token = Get(absl::StrCat("tokens/", id, ".json?api_key=", stack_->api_key()));
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(token.Json(), json::array({{{"service_request_id", id}, {"token", id}}}));
  const Answer token_xml = Get(absl::StrCat("tokens/", id, ".xml?api_key=", stack_->api_key()));
  EXPECT_NE(token_xml.body.find(absl::StrCat("<service_requests><request><service_request_id>", id,
                                             "</service_request_id><token>", id, "</token>")),
            std::string::npos)
      << token_xml.body;
  EXPECT_EQ(xml_checked_, 3);
}

TEST_F(Open311Test, APostAnswersInXmlAsTheSpecShows) {
  const Answer answer = Post(
      "requests.xml",
      {{"api_key", stack_->api_key()}, {"service_code", "0104"}, {"lat", kLat}, {"long", kLong}});
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("<service_requests><request><service_request_id>"), std::string::npos);
  EXPECT_NE(answer.body.find("</service_notice><account_id/></request></service_requests>"),
            std::string::npos)
      << answer.body;
  EXPECT_EQ(xml_checked_, 1);
}

TEST_F(Open311Test, RefusalsAreTheSpecsErrors) {
  const std::vector<std::pair<std::string, std::string>> place = {
      {"service_code", "0102"}, {"lat", kLat}, {"long", kLong}};
  auto with = [&](std::vector<std::pair<std::string, std::string>> fields) {
    fields.insert(fields.end(), place.begin(), place.end());
    return fields;
  };
  EXPECT_NE(ExpectError(Post("requests.json", place), 403).find("api_key"), std::string::npos);
  const std::string refused =
      ExpectError(Post("requests.json", with({{"api_key", std::string(64, 'x')}})), 403);
  EXPECT_EQ(refused.rfind("api_key: ", 0), 0u) << refused;
  EXPECT_EQ(refused.find("api key"), std::string::npos) << "named once: " << refused;
  ExpectError(Post("requests.xml", with({{"api_key", std::string(64, 'x')}})), 403);
  ExpectError(Get("requests.json"), 403);
  ExpectError(Get("requests/370212001-ANY.xml"), 403);
  ExpectError(Get("requests.json?api_key=" + std::string(64, 'y')), 403);

  const std::string key = stack_->api_key();
  const std::string unknown = ExpectError(
      Post("requests.json",
           {{"api_key", key}, {"service_code", "9999"}, {"lat", kLat}, {"long", kLong}}),
      400);
  EXPECT_EQ(unknown.rfind("service_code \"9999\"", 0), 0u) << unknown;
  const std::string outside = ExpectError(
      Post("requests.json",
           {{"api_key", key}, {"service_code", "0102"}, {"lat", "30.0"}, {"long", "120.0"}}),
      400);
  EXPECT_EQ(outside.rfind("lat/long", 0), 0u) << outside;
  const std::string no_place = ExpectError(
      Post("requests.json",
           {{"api_key", key}, {"service_code", "0102"}, {"address_string", "香港东路"}}),
      400);
  EXPECT_NE(no_place.find("geocoder"), std::string::npos) << no_place;
  ExpectError(Post("requests.xml",
                   {{"api_key", key}, {"service_code", "0102"}, {"lat", "x"}, {"long", kLong}}),
              400);

  const std::string missing = "370212001-0000000000000000";
  EXPECT_EQ(ExpectError(Get(absl::StrCat("requests/", missing, ".json?api_key=", key)), 404),
            "service_request_id \"" + missing + "\": not found");
  ExpectError(Get(absl::StrCat("requests/", missing, ".xml?api_key=", key)), 404);
  ExpectError(Get(absl::StrCat("tokens/", missing, ".xml?api_key=", key)), 404);
  EXPECT_EQ(ExpectError(Get(absl::StrCat("requests.json?api_key=", key, "&status=pending")), 400),
            "status: open or closed, not \"pending\"");
  EXPECT_GE(xml_checked_, 5);
}

}  // namespace
}  // namespace grid
