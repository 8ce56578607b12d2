// The visualization types of the echarts plugin. Each has a spec (its name and
// options, published as options_schema_json) and a render function that
// checks the options and the data and builds the ECharts option.
#pragma once

#include <trellis/sdk.hpp>

#include <string_view>
#include <vector>

#include "options.hpp"

namespace trellis::echarts {

using render_fn = rendering (*)(const dataset& data, std::string_view options_json);

struct chart_type {
  const chart_spec& spec;
  render_fn render;
};

/// Every type, in the order they are registered.
const std::vector<chart_type>& chart_types();

const chart_spec& line_spec();
rendering render_line(const dataset& data, std::string_view options_json);
const chart_spec& bar_spec();
rendering render_bar(const dataset& data, std::string_view options_json);
const chart_spec& pie_spec();
rendering render_pie(const dataset& data, std::string_view options_json);
const chart_spec& heatmap_spec();
rendering render_heatmap(const dataset& data, std::string_view options_json);

}  // namespace trellis::echarts
