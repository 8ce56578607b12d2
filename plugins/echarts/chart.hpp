// What every ECharts type shares: the palette and value format options, the
// frame of an ECharts option (title, legend, room for them), the "No data"
// chart, and the HTML element that carries the option to the browser.
#pragma once

#include <trellis/sdk.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "options.hpp"

namespace trellis::echarts {

/// The assets every rendering needs, in load order.
const std::vector<std::string>& rendering_assets();

/// JSON text that is safe inside <script type="application/json">: '<', '>',
/// '&', U+2028 and U+2029 written as \uXXXX escapes, so no data can close the
/// element ("</script>") or start a comment; JSON.parse reads it unchanged.
std::string script_safe_json(const boost::json::value& v);

/// The colours of the `colors` option, checked (at least `min_count`), or the
/// Okabe–Ito palette when it is not given.
boost::json::array palette(const options& o, std::size_t min_count = 1);
/// Okabe & Ito's colour-blind-safe palette, the charts plugin's default too.
const std::vector<std::string>& okabe_ito();

/// The `format` option, checked: number, integer, compact, percent or
/// currency:<ISO 4217 code>.
std::string value_format(const options& o);

/// The parts of an option every chart has: transparent background (the page
/// theme shows through), the title, and the legend when `legend` is not
/// empty. `top` is where the plot may start below them, in pixels.
struct frame {
  boost::json::object option;
  int top = 8;
};
frame make_frame(const options& o, const std::vector<std::string>& legend);

/// A chart without data: the title and "No data" in the middle.
boost::json::object empty_option(const options& o);

/// The rendering: a text/html <div class="trellis-echarts"> of the option's
/// height with the option inside, its accessible name `label`, and the assets.
rendering element(const options& o, const std::string& label, const boost::json::object& option, bool empty);

/// A value for the option: whole numbers as JSON integers (1200, not 1.2E3).
boost::json::value number(double d);
/// As number(), and NULL (a gap) for nullopt.
boost::json::value number_or_null(const std::optional<double>& d);

/// "a, b and c".
std::string spoken_list(const std::vector<std::string>& items);

}  // namespace trellis::echarts
