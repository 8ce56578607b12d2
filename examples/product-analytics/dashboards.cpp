#include "dashboards.hpp"

#include <trellis/html.hpp>

#include <algorithm>
#include <stdexcept>

#include <boost/json/parse.hpp>

namespace product_analytics {
namespace {

namespace json = boost::json;

std::string views_list() {
  std::string out;
  for (auto v : dashboard_views) out += (out.empty() ? "" : ", ") + std::string(v);
  return out;
}

bool usable_url(std::string_view url) {
  // A path of this server, or a web address: never javascript: or data:.
  const bool path = url.size() > 1 && url[0] == '/' && url[1] != '/';
  const bool web = url.starts_with("https://") || url.starts_with("http://");
  const bool clean = std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '<' || c == '>' || c == 0x7f;
  });
  return (path || web) && clean;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

dashboards dashboards::from_config(std::string_view config_json) {
  dashboards out;
  json::value root = json::parse(config_json);
  const json::value* list = root.is_object() ? root.as_object().if_contains("dashboards") : nullptr;
  if (list == nullptr || list->is_null()) return out;
  if (!list->is_array()) throw std::invalid_argument("'dashboards' must be an array of \"view=url\" strings");
  std::size_t index = 0;
  for (const json::value& item : list->as_array()) {
    const std::string where = "'dashboards' entry " + std::to_string(++index);
    if (!item.is_string()) throw std::invalid_argument(where + " must be a string \"view=url\"");
    const std::string_view entry = item.as_string();
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      throw std::invalid_argument(where + " '" + std::string(entry) +
                                  "' must be \"view=url\", e.g. \"product=/d/{id}\"");
    }
    const std::string view(entry.substr(0, eq));
    const std::string url(entry.substr(eq + 1));
    if (std::find(dashboard_views.begin(), dashboard_views.end(), view) == dashboard_views.end()) {
      throw std::invalid_argument(where + " names the view '" + view + "'; the views are " + views_list());
    }
    if (!usable_url(url)) {
      throw std::invalid_argument(where + " (" + view + "): '" + url +
                                  "' must be a path starting with / or an http:// or https:// address, without spaces");
    }
    if (!out.urls_.emplace(view, url).second)
      throw std::invalid_argument(where + " names the view '" + view + "' again");
  }
  return out;
}

std::optional<std::string> dashboards::link(std::string_view view, std::string_view from, std::string_view to,
                                            std::string_view id) const {
  auto it = urls_.find(view);
  if (it == urls_.end()) return std::nullopt;
  std::string url = it->second;
  replace_all(url, "{from}", trellis::html::url_encode(from));
  replace_all(url, "{to}", trellis::html::url_encode(to));
  replace_all(url, "{id}", trellis::html::url_encode(id));
  return url;
}

}  // namespace product_analytics
