#include "tools/loadgen/prometheus_text.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace grid::loadgen {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

// A sample value as Prometheus writes it ("12", "0.5", "+Inf", "NaN").
bool ParseValue(std::string_view text, double& value) {
  if (text == "+Inf") {
    value = std::numeric_limits<double>::infinity();
    return true;
  }
  return absl::SimpleAtod(absl::string_view(text.data(), text.size()), &value);
}

absl::Status Unparsable(std::string_view line) {
  return absl::InvalidArgumentError("metrics: cannot parse \"" + std::string(line) + "\"");
}

}  // namespace

absl::StatusOr<Histogram> ParseHistogram(std::string_view text, std::string_view name) {
  const std::string bucket_prefix = std::string(name) + "_bucket{";
  const std::string count_series = std::string(name) + "_count";
  const std::string sum_series = std::string(name) + "_sum";
  Histogram histogram;
  bool seen = false;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t space = line.rfind(' ');
    if (line.empty() || line.front() == '#' || space == std::string_view::npos) {
      continue;
    }
    const std::string_view series = line.substr(0, space);
    const std::string_view value_text = line.substr(space + 1);
    if (series.starts_with(bucket_prefix)) {
      const std::size_t le_at = series.find("le=\"");
      const std::size_t le_end =
          le_at == std::string_view::npos ? le_at : series.find('"', le_at + 4);
      Histogram::Bucket bucket;
      if (le_end == std::string_view::npos ||
          !ParseValue(series.substr(le_at + 4, le_end - le_at - 4), bucket.le) ||
          !ParseValue(value_text, bucket.count)) {
        return Unparsable(line);
      }
      histogram.buckets.push_back(bucket);
      seen = true;
    } else if (series == count_series || series == sum_series) {
      if (!ParseValue(value_text, series == count_series ? histogram.count : histogram.sum)) {
        return Unparsable(line);
      }
      seen = true;
    }
  }
  if (!seen) {
    return absl::NotFoundError("metrics: no histogram " + std::string(name));
  }
  std::sort(histogram.buckets.begin(), histogram.buckets.end(),
            [](const Histogram::Bucket& a, const Histogram::Bucket& b) { return a.le < b.le; });
  return histogram;
}

double EstimateQuantile(const Histogram& histogram, double q) {
  if (histogram.buckets.empty() || histogram.buckets.back().count <= 0) {
    return 0;
  }
  const double rank = q * histogram.buckets.back().count;
  double lower = 0;
  double below = 0;
  for (const Histogram::Bucket& bucket : histogram.buckets) {
    if (bucket.count >= rank) {
      if (std::isinf(bucket.le)) {
        return lower;
      }
      const double in_bucket = bucket.count - below;
      return in_bucket <= 0 ? bucket.le : lower + (bucket.le - lower) * (rank - below) / in_bucket;
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}

absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& target,
                                    std::chrono::milliseconds timeout) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, absl::StrCat(host, ":", port));
  request.set(http::field::connection, "close");
  http::response<http::string_body> response;
  beast::error_code failure;
  const std::string where = absl::StrCat("http://", host, ":", port, target);

  // Every step is asynchronous so that the stream's expiry bounds the whole exchange.
  stream.expires_after(timeout);
  boost::system::error_code bad_address;
  const boost::asio::ip::address address = boost::asio::ip::make_address(host, bad_address);
  if (bad_address) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not an IP address"));
  }
  const boost::asio::ip::tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  stream.async_connect(endpoint, [&](beast::error_code error) {
    if (error) {
      failure = error;
      return;
    }
    http::async_write(stream, request, [&](beast::error_code error, std::size_t) {
      if (error) {
        failure = error;
        return;
      }
      http::async_read(stream, buffer, response,
                       [&](beast::error_code error, std::size_t) { failure = error; });
    });
  });
  io.run();
  if (failure == beast::error::timeout) {
    return absl::DeadlineExceededError(
        absl::StrCat(where, ": no answer within ", timeout.count(), " ms"));
  }
  if (failure) {
    return absl::UnavailableError(absl::StrCat(where, ": ", failure.message()));
  }
  if (response.result() != http::status::ok) {
    return absl::UnavailableError(absl::StrCat(where, ": HTTP ", response.result_int()));
  }
  return std::move(response.body());
}

}  // namespace grid::loadgen
