// dashboards.hpp -- the "Dashboard" link of each view, from the plugin's
// configuration:
//
//   [plugin.product-analytics]
//   dashboards = ["product=https://bi.example.com/d/product?id={id}&from={from}&to={to}",
//                 "revenue-by-month=/core-pages/live"]
//
// Each entry is "<view>=<url>". A view without an entry shows no link.
// {id} (the product page only), {from} and {to} in the URL are replaced by
// the page's product id and days, percent-encoded.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace product_analytics {

/// The views that can have a dashboard link, as they are named in `dashboards`.
inline constexpr std::array<std::string_view, 7> dashboard_views = {
    "overview",     "product",     "revenue-by-category", "revenue-by-month",
    "top-products", "basket-size", "new-vs-returning"};

class dashboards {
 public:
  /// Reads `dashboards` from the plugin's configuration JSON. Throws
  /// std::invalid_argument naming the entry for one that is not "view=url",
  /// names an unknown view or a view twice, or whose URL is neither a path
  /// ("/...") nor http(s)://.
  static dashboards from_config(std::string_view config_json);

  /// The link of `view` with its placeholders filled in; nullopt when the
  /// view has none.
  std::optional<std::string> link(std::string_view view, std::string_view from, std::string_view to,
                                  std::string_view id = {}) const;

  std::size_t size() const { return urls_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> urls_;
};

}  // namespace product_analytics
