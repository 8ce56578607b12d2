// Matches request paths against route patterns ("/products/{id}").
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trellis::host {

/// A route table from (method, pattern) to a value of type T. Literal segments
/// win over parameters, so "/items/new" is preferred to "/items/{id}".
template <class T>
class router {
 public:
  struct match {
    const T* value = nullptr;
    std::vector<std::pair<std::string, std::string>> params;  ///< raw (still percent-encoded)
  };
  struct result {
    std::optional<match> found;
    std::vector<std::string> allowed;  ///< methods the path has; set when found is empty
  };

  /// Adds a route. Returns false when (method, pattern) is already present.
  bool add(std::string method, std::string_view pattern, T value) {
    auto segments = split(pattern);
    for (auto& r : routes_) {
      if (r.method == method && same_shape(r.segments, segments)) return false;
    }
    routes_.push_back({std::move(method), std::move(segments), std::move(value)});
    return true;
  }

  /// Finds the route for `method` and `path`. HEAD falls back to GET. When
  /// nothing matches the method, `allowed` lists the methods that would.
  result find(std::string_view method, std::string_view path) const {
    auto segments = split(path);
    const route* best = nullptr;
    int best_score = -1;
    std::vector<std::string> allowed;
    for (const auto& r : routes_) {
      int score = fit(r.segments, segments);
      if (score < 0) continue;
      if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) allowed.push_back(r.method);
      bool method_ok = r.method == method || (method == "HEAD" && r.method == "GET");
      if (method_ok && (score > best_score || (score == best_score && r.method == method))) {
        best = &r;
        best_score = score;
      }
    }
    result out;
    if (best != nullptr) {
      match m;
      m.value = &best->value;
      for (std::size_t i = 0; i < best->segments.size(); ++i) {
        if (is_param(best->segments[i])) {
          m.params.emplace_back(best->segments[i].substr(1, best->segments[i].size() - 2), segments[i]);
        }
      }
      out.found = std::move(m);
      return out;
    }
    if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end() &&
        std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end()) {
      allowed.emplace_back("HEAD");
    }
    std::sort(allowed.begin(), allowed.end());
    out.allowed = std::move(allowed);
    return out;
  }

  std::size_t size() const { return routes_.size(); }

 private:
  struct route {
    std::string method;
    std::vector<std::string> segments;
    T value;
  };

  static bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

  static std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = path.empty() || path.front() != '/' ? 0 : 1;
    while (start < path.size()) {
      std::size_t end = path.find('/', start);
      if (end == std::string_view::npos) end = path.size();
      out.emplace_back(path.substr(start, end - start));
      start = end + 1;
    }
    // A trailing slash is a segment of its own only for the root.
    return out;
  }

  static bool same_shape(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (is_param(a[i]) != is_param(b[i])) return false;
      if (!is_param(a[i]) && a[i] != b[i]) return false;
    }
    return true;
  }

  // -1: no match; otherwise the number of literal segments (higher wins).
  static int fit(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
    if (pattern.size() != path.size()) return -1;
    int literal = 0;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (is_param(pattern[i])) {
        if (path[i].empty()) return -1;
      } else if (pattern[i] == path[i]) {
        ++literal;
      } else {
        return -1;
      }
    }
    return literal;
  }

  std::vector<route> routes_;
};

}  // namespace trellis::host
