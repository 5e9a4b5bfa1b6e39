#include "services/webhooks/signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace grid::webhooks {

std::string SignatureHex(std::string_view secret, std::int64_t t, std::string_view body) {
  std::string message = std::to_string(t);
  message.push_back('.');
  message.append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // HMAC() with a valid digest and in-memory buffers cannot fail.
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

std::string SignatureHeader(std::string_view secret, std::int64_t t, std::string_view body) {
  return "t=" + std::to_string(t) + ",v1=" + SignatureHex(secret, t, body);
}

}  // namespace grid::webhooks
