#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace trib::server::auth {
namespace {

// Logins are rare (once per connection); 20,000 rounds keep one around 10 ms.
constexpr int k_iterations = 20000;

std::string to_hex(const unsigned char* p, std::size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    s.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        s.push_back(d[p[i] >> 4]);
        s.push_back(d[p[i] & 15]);
    }
    return s;
}

bool from_hex(std::string_view h, std::vector<unsigned char>& out) {
    if (h.size() % 2 != 0)
        return false;
    out.clear();
    for (std::size_t i = 0; i < h.size(); i += 2) {
        unsigned v = 0;
        auto r = std::from_chars(h.data() + i, h.data() + i + 2, v, 16);
        if (r.ec != std::errc() || r.ptr != h.data() + i + 2)
            return false;
        out.push_back(static_cast<unsigned char>(v));
    }
    return true;
}

void random_bytes(unsigned char* p, std::size_t n) {
    if (RAND_bytes(p, static_cast<int>(n)) != 1) {
        // RAND_bytes only fails when the OS entropy source is broken; never hand out weak secrets.
        std::abort();
    }
}

std::array<unsigned char, 32> pbkdf2(std::string_view password, const unsigned char* salt,
                                     std::size_t salt_len, int iterations) {
    std::array<unsigned char, 32> out{};
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt,
                      static_cast<int>(salt_len), iterations, EVP_sha256(),
                      static_cast<int>(out.size()), out.data());
    return out;
}

}  // namespace

std::string hash_password(std::string_view password) {
    std::array<unsigned char, 16> salt{};
    random_bytes(salt.data(), salt.size());
    auto h = pbkdf2(password, salt.data(), salt.size(), k_iterations);
    return "pbkdf2-sha256$" + std::to_string(k_iterations) + "$" +
           to_hex(salt.data(), salt.size()) + "$" + to_hex(h.data(), h.size());
}

bool verify_password(std::string_view password, std::string_view encoded) {
    constexpr std::string_view prefix = "pbkdf2-sha256$";
    if (encoded.substr(0, prefix.size()) != prefix)
        return false;
    encoded.remove_prefix(prefix.size());
    auto p1 = encoded.find('$');
    if (p1 == std::string_view::npos)
        return false;
    auto p2 = encoded.find('$', p1 + 1);
    if (p2 == std::string_view::npos)
        return false;
    int iterations = 0;
    auto it = encoded.substr(0, p1);
    if (std::from_chars(it.data(), it.data() + it.size(), iterations).ec != std::errc() ||
        iterations <= 0 || iterations > 10'000'000)
        return false;
    std::vector<unsigned char> salt, want;
    if (!from_hex(encoded.substr(p1 + 1, p2 - p1 - 1), salt) ||
        !from_hex(encoded.substr(p2 + 1), want) || want.size() != 32)
        return false;
    auto got = pbkdf2(password, salt.data(), salt.size(), iterations);
    return CRYPTO_memcmp(got.data(), want.data(), 32) == 0;
}

std::string generate_token() {
    std::array<unsigned char, 50> raw{};
    random_bytes(raw.data(), raw.size());
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), raw.data(),
                            static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string token_digest(std::string_view token) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(token.data(), token.size(), md, &len, EVP_sha256(), nullptr);
    return to_hex(md, len);
}

std::string random_password(std::size_t n) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string out;
    out.reserve(n);
    while (out.size() < n) {
        unsigned char b = 0;
        random_bytes(&b, 1);
        if (b < 248)  // 248 = 4 * 62: no modulo bias
            out.push_back(alphabet[b % alphabet.size()]);
    }
    return out;
}

}  // namespace trib::server::auth
