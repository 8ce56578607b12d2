// Drawing SVG with trellis/html.hpp, so every text and attribute value is
// escaped: the root element, titles, legends, axes and labels that the
// chart types share.
//
// Text takes its colour from the page (currentColor) and its font from the
// surrounding element; marks carry presentation attributes and classes, so a
// theme's CSS can restyle both.
#pragma once

#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "format.hpp"
#include "options.hpp"
#include "scale.hpp"

namespace trellis::charts {

using html::attrs;
using html::node;

inline constexpr double font_size = 12;
inline constexpr double title_size = 15;

/// An estimate of the width of `text` at `size`: SVG has no text metrics
/// before it is drawn, and a generous estimate keeps labels from touching.
double text_width(std::string_view text, double size = font_size);

struct box {
  double x = 0, y = 0, w = 0, h = 0;
  double right() const { return x + w; }
  double bottom() const { return y + h; }
};

/// Series colours: the `colors` option, else the Okabe-Ito palette (black
/// replaced by grey so it shows on dark themes). Throws naming a bad colour.
class palette {
 public:
  palette(const options& o);
  const std::string& operator[](std::size_t i) const { return colors_[i % colors_.size()]; }

 private:
  std::vector<std::string> colors_;
};

/// A <text> element at (x, y); text longer than `max_chars` is cut with an
/// ellipsis and the full text goes into a <title> child.
node svg_text(double x, double y, std::string_view text, std::size_t max_chars, const attrs& extra = {});

/// attrs with numbers as SVG coordinates.
attrs at(std::initializer_list<std::pair<std::string_view, double>> numbers);

/// One chart being drawn: its size, title, and content.
class canvas {
 public:
  /// Reads the title, width and height options. `description` is the
  /// accessible name when there is no title ("Bar chart of total by month").
  canvas(std::string kind, const options& o, std::string description);

  double width() const { return width_; }
  double height() const { return height_; }
  /// The y below the title (and whatever was placed with reserve()).
  double top() const { return top_; }
  void reserve(double h) { top_ += h; }
  void add(const node& n) { body_ += n; }

  /// The finished SVG document.
  rendering finish() const;
  /// A valid SVG with the title and `message` in the middle.
  rendering empty(std::string_view message = "No data") const;

 private:
  std::string kind_;
  std::string title_;
  std::string description_;
  double width_;
  double height_;
  double top_;
  node body_;
};

/// Draws a legend of swatches and names from (x, y), wrapping at max_width.
/// Returns the height it used.
double legend(canvas& c, const std::vector<std::string>& names, const palette& colors, double x, double y,
              double max_width);

/// Horizontal grid lines and labels of a value axis on the left of `plot`.
void value_axis_left(canvas& c, const linear_scale& s, const box& plot, const number_format& f);
/// Vertical grid lines and labels of a value axis below `plot`.
void value_axis_bottom(canvas& c, const linear_scale& s, const box& plot, const number_format& f);
/// Time labels below `plot` (two lines where the year or day changes).
void time_axis_bottom(canvas& c, const std::vector<time_tick>& ticks, const linear_scale& s, const box& plot);
/// How category labels below bands fit: flat, or turned and thinned out.
struct band_layout {
  bool turned = false;
  std::size_t every = 1;      ///< label every n-th band
  std::size_t max_chars = 0;  ///< longer labels get an ellipsis
  double height = 0;          ///< below the plot
  double overhang = 0;        ///< how far the first label reaches left of the plot
};
band_layout layout_bands(const std::vector<std::string>& labels, double plot_width);
/// Category labels below `plot`, one per band (or every n-th), as laid out.
void band_axis_bottom(canvas& c, const std::vector<std::string>& labels, const box& plot, const band_layout& layout);
/// Width of the widest value label of an axis.
double value_labels_width(const linear_scale& s, const number_format& f);
/// An axis title centred below the plot.
void axis_title_bottom(canvas& c, std::string_view text, const box& plot, double y);
/// A value-axis title above the plot's top-left corner.
void axis_title_top(canvas& c, std::string_view text, const box& plot);

/// "Hardware · Mar 2024: €1,234.00" without the series part when empty.
std::string tooltip(std::string_view series, std::string_view x, std::string_view value);

}  // namespace trellis::charts
