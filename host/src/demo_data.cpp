#include "trellis/host/demo_data.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace trellis::host {
namespace fs = std::filesystem;
namespace chrono = std::chrono;

namespace {

// Bump when the same seed would produce different rows: it is recorded in the
// file (demo_info and PRAGMA user_version) so a reader can tell versions apart.
constexpr int generator_version = 1;
constexpr chrono::year_month_day last_day{chrono::year{2026}, chrono::October, chrono::day{31}};
constexpr std::int32_t application_id = 0x54524C53;  // "TRLS": marks the file as Trellis demo data
constexpr std::size_t customer_count = 5000;
constexpr std::size_t product_count = 500;
constexpr int history_days = 3 * 365;  // how far back catalog items and accounts predate the orders

// -- random numbers ----------------------------------------------------------
//
// The same seed must give the same file with any compiler and standard
// library. The std engines would do, but the std distributions
// (uniform_int_distribution, normal_distribution, ...) are implementation-
// defined: libstdc++ and libc++ turn the same engine output into different
// values. So the generator (xoshiro256**, seeded through splitmix64) and every
// mapping to a range are written here, and they use integers only: floating
// point would let libm and FMA contraction differ between platforms.

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class random_source {
 public:
  explicit random_source(std::uint64_t seed) {
    for (auto& s : state_) s = splitmix64(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform in [0, n), n > 0: rejects the few values that would bias `% n`.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t x = next();
      if (x >= threshold) return x % n;
    }
  }
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(below(n)); }
  /// Uniform in [lo, hi].
  int between(int lo, int hi) {
    return lo + static_cast<int>(below(static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo + 1)));
  }
  /// True with probability per_mille / 1000.
  bool chance(unsigned per_mille) { return below(1000) < per_mille; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[index(v.size())];
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
};

// Fisher-Yates: std::shuffle's use of the engine is unspecified too.
template <typename T>
void shuffle(std::vector<T>& v, random_source& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.index(i)]);
}

// A fixed discrete distribution over 0..n-1 with integer weights.
class weighted_choice {
 public:
  weighted_choice() = default;
  explicit weighted_choice(const std::vector<std::uint64_t>& weights) {
    std::uint64_t total = 0;
    for (std::uint64_t w : weights) cumulative_.push_back(total += w);
  }
  std::size_t pick(random_source& rng) const {
    const std::uint64_t u = rng.below(cumulative_.back());
    return static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
  }

 private:
  std::vector<std::uint64_t> cumulative_;
};

// A value drawn from (value, per-mille weight) pairs.
struct outcome {
  int value;
  unsigned weight;
};
int draw(const std::vector<outcome>& outcomes, random_source& rng) {
  std::uint64_t total = 0;
  for (const outcome& o : outcomes) total += o.weight;
  std::uint64_t u = rng.below(total);
  for (const outcome& o : outcomes) {
    if (u < o.weight) return o.value;
    u -= o.weight;
  }
  return outcomes.back().value;
}

// Weights that change as orders are placed (customers' propensity to order),
// sampled among a prefix of the items (customers who have signed up so far).
class fenwick_weights {
 public:
  explicit fenwick_weights(std::size_t n) : tree_(n + 1), weights_(n) {
    while (top_ * 2 <= n) top_ *= 2;
  }
  void set(std::size_t i, std::uint64_t w) {
    const std::uint64_t delta = w - weights_[i];  // modular: works for decreases too
    weights_[i] = w;
    for (std::size_t k = i + 1; k < tree_.size(); k += k & (~k + 1)) tree_[k] += delta;
  }
  std::uint64_t get(std::size_t i) const { return weights_[i]; }
  /// Sum of the weights of items [0, n).
  std::uint64_t prefix(std::size_t n) const {
    std::uint64_t sum = 0;
    for (std::size_t k = n; k > 0; k -= k & (~k + 1)) sum += tree_[k];
    return sum;
  }
  /// The item whose weight interval contains u, for u < prefix(size).
  std::size_t find(std::uint64_t u) const {
    std::size_t pos = 0;
    for (std::size_t step = top_; step > 0; step /= 2) {
      if (pos + step < tree_.size() && tree_[pos + step] <= u) {
        pos += step;
        u -= tree_[pos];
      }
    }
    return pos;
  }

 private:
  std::vector<std::uint64_t> tree_;
  std::vector<std::uint64_t> weights_;
  std::size_t top_ = 1;
};

// -- calendar ------------------------------------------------------------------

std::string format_date(chrono::sys_days day) {
  const chrono::year_month_day ymd{day};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return text;
}

// Relative order volume by month (January first), in percent: a November and
// December peak, a summer lull.
constexpr std::array<std::uint64_t, 12> month_volume{88, 82, 92, 95, 98, 90, 86, 90, 96, 102, 130, 155};
// By weekday (Sunday first): people shop most on Sunday evening and Monday.
constexpr std::array<std::uint64_t, 7> weekday_volume{115, 110, 102, 100, 98, 92, 90};
// By hour of the day (UTC).
constexpr std::array<std::uint64_t, 24> hour_volume{20, 12, 8,  6,  5,  6,  10, 18, 30, 42, 50, 55,
                                                    62, 60, 55, 52, 54, 58, 64, 72, 78, 70, 52, 34};

struct day_info {
  chrono::sys_days date;
  std::string text;      // YYYY-MM-DD
  unsigned month = 0;    // 0 = January
  bool sale = false;     // discounts are more frequent
  std::uint64_t weight;  // relative number of orders
};

// Black Friday: the day after the fourth Thursday of November. Cyber Monday is three days later.
chrono::sys_days black_friday(chrono::year y) {
  const chrono::sys_days thursday{chrono::year_month_weekday{y / chrono::November / chrono::Thursday[4]}};
  return thursday + chrono::days{1};
}

std::vector<day_info> build_calendar(chrono::sys_days first, chrono::sys_days last, int years) {
  std::vector<day_info> days;
  const auto count = static_cast<std::uint64_t>((last - first).count()) + 1;
  for (chrono::sys_days d = first; d <= last; d += chrono::days{1}) {
    day_info info{d, format_date(d), 0, false, 0};
    const chrono::year_month_day ymd{d};
    const unsigned month = static_cast<unsigned>(ymd.month()) - 1;
    const unsigned dom = static_cast<unsigned>(ymd.day());
    info.month = month;
    const auto index = static_cast<std::uint64_t>((d - first).count());
    // Mild growth: about 18% a year, linear in the day.
    const std::uint64_t growth =
        1000 + (180 * static_cast<std::uint64_t>(years) * index) / std::max<std::uint64_t>(1, count - 1);
    std::uint64_t holiday = 100;
    const chrono::sys_days friday = black_friday(ymd.year());
    if (d == friday) holiday = 300;
    if (d == friday + chrono::days{1} || d == friday + chrono::days{2}) holiday = 180;
    if (d == friday + chrono::days{3}) holiday = 250;
    if (month == 11 && dom == 24) holiday = 60;
    if (month == 11 && dom == 25) holiday = 40;
    if (month == 11 && dom == 26) holiday = 130;
    if (month == 0 && dom == 1) holiday = 60;
    info.sale =
        (d >= friday && d <= friday + chrono::days{3}) || (month == 11 && dom >= 26) || (month == 6 && dom <= 7);
    const unsigned weekday = chrono::weekday{d}.c_encoding();
    info.weight = month_volume[month] * weekday_volume[weekday] * growth * holiday;
    days.push_back(std::move(info));
  }
  return days;
}

// -- the catalog -----------------------------------------------------------------

// How a category's share of sales moves through the year (January first, percent).
using season = std::array<std::uint64_t, 12>;
constexpr season gift_season{70, 65, 75, 80, 85, 85, 82, 85, 90, 105, 170, 230};
constexpr season winter_season{90, 85, 92, 95, 95, 88, 86, 92, 100, 108, 135, 160};
constexpr season summer_season{60, 65, 95, 130, 150, 150, 135, 115, 95, 80, 70, 75};
constexpr season summer_dip_season{110, 105, 105, 100, 92, 78, 72, 80, 100, 105, 118, 135};
constexpr season school_season{105, 95, 95, 90, 85, 80, 100, 150, 130, 100, 95, 90};
constexpr season steady_season{100, 95, 100, 98, 100, 98, 97, 98, 100, 102, 110, 120};

using words = std::vector<std::string_view>;

// A kind of product: its noun, its price range in whole currency units, and
// the adjectives and modifiers that suit it (empty: the category's).
struct item_spec {
  std::string_view noun;
  int min_price;
  int max_price;
  words adjectives;
  words modifiers;
};

struct category_spec {
  std::string_view name;
  std::string_view slug;
  std::string_view sku_prefix;
  std::uint64_t popularity;  // relative share of order lines
  const season* seasonality;
  bool consumable;  // bought several at a time more often
  std::vector<item_spec> items;
  words patterns;  // product names: {a} adjective, {m} modifier, {n} noun
  words blurbs;    // first sentence of the description, same placeholders
  words features;  // second sentence
  words adjectives = {};
  words modifiers = {};
};

// One product kind per line reads better than clang-format's layout of this table.
// clang-format off
// Invented, generic words only: no real brands or product lines.
const std::vector<category_spec>& categories() {
  static const std::vector<category_spec> specs = {
      {"Electronics", "electronics", "ELE", 14, &winter_season, false,
       {{"Speaker", 25, 199, {"Compact", "Portable", "Rugged", "Pocket"}, {"Waterproof", "Stereo", "Outdoor", "Smart"}},
        {"Headphones", 29, 299, {"Wireless", "Foldable", "Studio", "Lightweight"},
         {"Noise-Cancelling", "Over-Ear", "On-Ear", "Sports"}},
        {"Earbuds", 19, 199, {"Wireless", "Compact", "Active", "Sport"},
         {"Noise-Cancelling", "Waterproof", "Open-Fit", "Long-Life"}},
        {"Power Bank", 15, 79, {"Slim", "Compact", "Rugged", "Pocket"},
         {"Fast-Charge", "Solar", "Magnetic", "20,000 mAh"}},
        {"Keyboard", 25, 159, {"Compact", "Quiet", "Slim", "Ergonomic"},
         {"Mechanical", "Wireless", "Backlit", "Folding"}},
        {"Mouse", 12, 89, {"Ergonomic", "Silent", "Travel", "Precision"},
         {"Wireless", "Vertical", "Rechargeable", "Gaming"}},
        {"Webcam", 29, 149, {"Clear", "Compact", "Wide-Angle", "Studio"}, {"HD", "4K", "Auto-Focus", "Streaming"}},
        {"Smart Plug", 12, 39, {"Mini", "Outdoor", "Compact", "Twin"},
         {"Wi-Fi", "Energy-Monitoring", "Timer", "Voice-Ready"}},
        {"Action Camera", 79, 349, {"Rugged", "Compact", "Pocket", "Pro"},
         {"Waterproof", "4K", "Stabilized", "Helmet"}},
        {"Alarm Clock", 15, 59, {"Quiet", "Sunrise", "Classic", "Smart"},
         {"Digital", "Projection", "Radio", "Wake-Light"}}},
       {"{a} {n}", "{a} {m} {n}", "{m} {n}", "{a} {n} Pro", "{m} {n} Mini", "{a} {m} {n} 2"},
       {"Our {a} {m} {n} for home, desk and travel.", "Sets up in a minute and just works.",
        "The {m} {n} our customers rate highest."},
       {"Charges over a standard cable in about two hours.", "Comes with a one-year warranty.",
        "Works with phones, tablets and laptops.", "Firmware updates add features over time."}},
      {"Home & Kitchen", "home-kitchen", "HOM", 13, &summer_dip_season, false,
       {{"Mug Set", 14, 49, {"Classic", "Nordic", "Speckled", "Stackable"}, {"Ceramic", "Stoneware", "Enamel",
        "Porcelain"}},
        {"Skillet", 19, 129, {"Classic", "Deep", "Pre-Seasoned", "Everyday"},
         {"Cast Iron", "Carbon Steel", "Nonstick", "Stainless Steel"}},
        {"Chef's Knife", 24, 149, {"Classic", "Balanced", "Forged", "Everyday"},
         {"Stainless Steel", "Damascus-Pattern", "Carbon Steel", "Ceramic"}},
        {"Cutting Board", 12, 69, {"Reversible", "Large", "Classic", "Rustic"}, {"Bamboo", "Oak", "Walnut", "Maple"}},
        {"Storage Jars", 12, 45, {"Airtight", "Stackable", "Classic", "Nordic"},
         {"Glass", "Ceramic", "Bamboo-Lid", "Stoneware"}},
        {"Throw Blanket", 25, 119, {"Cozy", "Chunky", "Soft", "Nordic"}, {"Cotton", "Wool", "Fleece", "Linen"}},
        {"Table Lamp", 29, 189, {"Modern", "Classic", "Dimmable", "Nordic"},
         {"Ceramic", "Brass", "Oak", "Linen-Shade"}},
        {"Tea Kettle", 19, 99, {"Classic", "Whistling", "Modern", "Compact"},
         {"Enamel", "Stainless Steel", "Glass", "Electric"}},
        {"Dinner Plates, Set of 4", 19, 89, {"Classic", "Rustic", "Modern", "Speckled"},
         {"Stoneware", "Porcelain", "Ceramic", "Enamel"}},
        {"French Press", 15, 59, {"Classic", "Double-Wall", "Compact", "Modern"},
         {"Glass", "Stainless Steel", "Copper-Finish", "Bamboo"}},
        {"Spice Rack", 15, 59, {"Rotating", "Wall-Mounted", "Compact", "Tiered"},
         {"Bamboo", "Oak", "Steel", "Acacia"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {n}, made of {m}.", "Made of {m}, built for everyday use.",
        "A favorite our customers keep coming back for."},
       {"Dishwasher safe where it makes sense; wipe clean otherwise.", "Fits most kitchens and shelves.",
        "Made to last for years of daily use.", "Gift-boxed."}},
      {"Books", "books", "BOO", 10, &summer_dip_season, false,
       {{"Orchard", 9, 32, {}, {}},
        {"Harbor", 9, 32, {}, {}},
        {"Lantern", 9, 32, {}, {}},
        {"Voyage", 9, 32, {}, {}},
        {"Letters", 9, 32, {}, {}},
        {"Island", 9, 32, {}, {}},
        {"Archive", 9, 32, {}, {}},
        {"Lighthouse", 9, 32, {}, {}},
        {"Station", 9, 32, {}, {}},
        {"Map", 9, 32, {}, {}}},
       {"The {a} {n}", "The {a} {n}", "{m} for Beginners", "The Little Book of {m}", "A Practical Guide to {m}",
        "The {n} Keeper", "Notes on {m}"},
       {"A paperback edition with a new foreword.", "A favorite of book clubs and long train rides.",
        "Clear, friendly and full of examples.", "Beautifully illustrated throughout."},
       {"About 300 pages.", "Includes a reading guide.", "Printed on recycled paper.", "Also makes a thoughtful gift."},
       {"Silent", "Hidden", "Last", "Northern", "Little", "Forgotten", "Golden", "Winter", "Distant", "Paper"},
       {"Baking", "Birdwatching", "Chess", "Stargazing", "Watercolor", "Sourdough", "Home Repair", "Small Gardens",
        "Budgeting", "Hiking", "Photography", "Knitting"}},
      {"Toys & Games", "toys-games", "TOY", 9, &gift_season, false,
       {{"Puzzle", 9, 39, {"Giant", "Glow-in-the-Dark", "Rainbow", "Family"}, {"1000-Piece", "Floor", "3D", "Wooden"}},
        {"Building Blocks", 15, 99, {"Magnetic", "Giant", "Rainbow", "Junior"}, {"Wooden", "Castle", "City", "Space"}},
        {"Board Game", 15, 59, {"Family", "Deluxe", "Cosmic", "Classic"},
         {"Strategy", "Trivia", "Cooperative", "Adventure"}},
        {"Card Game", 6, 25, {"Family", "Pocket", "Quick", "Classic"}, {"Party", "Word", "Matching", "Strategy"}},
        {"Science Kit", 19, 69, {"Junior", "Deluxe", "Cosmic", "Kitchen"},
         {"Chemistry", "Crystal-Growing", "Robotics", "Volcano"}},
        {"Art Set", 12, 49, {"Rainbow", "Deluxe", "Junior", "Travel"}, {"Watercolor", "Clay", "Sketching", "Sticker"}},
        {"Marble Run", 25, 89, {"Giant", "Glow-in-the-Dark", "Wooden", "Deluxe"},
         {"Spiral", "Tower", "Motorized", "Modular"}},
        {"Plush Toy", 9, 39, {"Cuddly", "Giant", "Tiny", "Sleepy"}, {"Bear", "Fox", "Dragon", "Whale"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {m} {n} for Kids"},
       {"Our {m} {n}, a favorite at birthdays.", "Hours of play for the whole family.",
        "Builds patience, logic and creativity."},
       {"For ages 6 and up.", "For ages 3 and up.", "For 2 to 6 players.", "All pieces fit back in the box.",
        "Non-toxic paints and materials."}},
      {"Sports & Outdoors", "sports-outdoors", "SPO", 9, &summer_season, false,
       {{"Tent", 79, 349, {"Lightweight", "All-Weather", "Pop-Up", "Family"}, {"2-Person", "4-Person", "Backpacking",
        "Dome"}},
        {"Backpack", 29, 179, {"Lightweight", "Packable", "Trail", "Summit"},
         {"Hiking", "Travel", "30 L", "Waterproof"}},
        {"Yoga Mat", 19, 89, {"Non-Slip", "Thick", "Travel", "Eco"}, {"Cork", "Rubber", "Foam", "Jute"}},
        {"Water Bottle", 12, 45, {"Insulated", "Leakproof", "Trail", "Collapsible"},
         {"Steel", "750 ml", "1 L", "Sports"}},
        {"Headlamp", 15, 69, {"Rechargeable", "Bright", "Lightweight", "Trail"},
         {"LED", "Waterproof", "Running", "Red-Light"}},
        {"Rain Jacket", 49, 229, {"Packable", "Breathable", "Lightweight", "All-Weather"},
         {"Hiking", "Running", "Cycling", "Hooded"}},
        {"Sleeping Bag", 39, 249, {"Ultralight", "Warm", "Compact", "Three-Season"},
         {"Down", "Synthetic", "Mummy", "Rectangular"}},
        {"Trekking Poles", 29, 129, {"Folding", "Adjustable", "Ultralight", "Trail"},
         {"Carbon", "Aluminum", "Cork-Grip", "Shock-Absorbing"}},
        {"Jump Rope", 8, 35, {"Speed", "Weighted", "Adjustable", "Beaded"},
         {"Fitness", "Boxing", "Steel-Cable", "Training"}},
        {"Bike Helmet", 35, 159, {"Lightweight", "Ventilated", "Urban", "Trail"},
         {"Road", "Mountain", "Commuter", "Kids'"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {m} {n}, tested outdoors.", "Built for the trail, light enough for every day.",
        "The {n} to pack first."},
       {"Packs down small.", "Water-resistant finish.", "Comes with a carry bag.", "Tested in rain, wind and snow."}},
      {"Garden", "garden", "GAR", 6, &summer_season, false,
       {{"Planter", 12, 89, {"Self-Watering", "Raised", "Hanging", "Large"},
         {"Terracotta", "Ceramic", "Wooden", "Recycled Plastic"}},
        {"Garden Hose", 19, 79, {"Expandable", "Kink-Free", "Heavy-Duty", "Compact"},
         {"15 m", "30 m", "Rubber", "Reinforced"}},
        {"Pruning Shears", 12, 49, {"Ergonomic", "Heavy-Duty", "Precision", "Ratchet"},
         {"Bypass", "Anvil", "Steel", "Titanium-Coated"}},
        {"Trowel", 8, 29, {"Ergonomic", "Sturdy", "Narrow", "Classic"},
         {"Stainless Steel", "Ash-Handle", "Transplanting", "Cast Aluminum"}},
        {"Bird Feeder", 15, 59, {"Hanging", "Squirrel-Proof", "Classic", "Window"}, {"Cedar", "Metal", "Seed", "Suet"}},
        {"String Lights", 15, 69, {"Solar", "Weatherproof", "Warm-White", "Festoon"},
         {"LED", "Outdoor", "Patio", "Globe"}},
        {"Seed Starter Kit", 12, 45, {"Complete", "Windowsill", "Compact", "Beginner's"},
         {"Tomato", "Herb", "Flower", "Salad"}},
        {"Watering Can", 12, 49, {"Classic", "Long-Spout", "Indoor", "Large"},
         {"Galvanized", "Copper-Finish", "Plastic", "5 L"}},
        {"Wheelbarrow", 59, 249, {"Heavy-Duty", "Folding", "Two-Wheel", "Compact"},
         {"Steel", "Poly", "Garden", "100 L"}},
        {"Compost Bin", 29, 129, {"Tumbling", "Stackable", "Kitchen", "Large"},
         {"Recycled Plastic", "Wooden", "Steel", "Bokashi"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {n}, made for balconies, patios and backyards.", "The {m} {n} gardeners ask for by name.",
        "Makes garden work easier."},
       {"Rust-resistant.", "Stays outdoors all year.", "Easy to assemble without tools.",
        "Comes with a two-year guarantee."}},
      {"Clothing", "clothing", "CLO", 8, &winter_season, false,
       {{"Sweater", 35, 129, {"Cozy", "Relaxed", "Classic", "Chunky"}, {"Merino", "Cotton", "Wool", "Cashmere-Blend"}},
        {"T-Shirt", 12, 39, {"Everyday", "Relaxed", "Slim-Fit", "Classic"},
         {"Cotton", "Organic Cotton", "Linen-Blend", "Jersey"}},
        {"Hoodie", 35, 89, {"Cozy", "Relaxed", "Oversized", "Classic"},
         {"Fleece", "Cotton", "Recycled", "Heavyweight"}},
        {"Jeans", 45, 129, {"Slim-Fit", "Relaxed", "Straight", "Classic"},
         {"Denim", "Stretch Denim", "Selvedge", "Organic Denim"}},
        {"Scarf", 15, 69, {"Cozy", "Oversized", "Classic", "Lightweight"}, {"Wool", "Cotton", "Merino", "Linen"}},
        {"Beanie", 12, 39, {"Cozy", "Ribbed", "Classic", "Slouchy"}, {"Wool", "Merino", "Fleece-Lined", "Cotton"}},
        {"Socks, 3 Pairs", 12, 29, {"Everyday", "Hiking", "Cushioned", "Classic"},
         {"Merino", "Cotton", "Bamboo", "Wool"}},
        {"Shirt", 29, 89, {"Classic", "Relaxed", "Slim-Fit", "Weekend"}, {"Oxford", "Linen", "Flannel", "Chambray"}},
        {"Raincoat", 59, 179, {"Lightweight", "Classic", "Hooded", "Packable"},
         {"Waterproof", "Recycled", "Waxed-Cotton", "Breathable"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {m} {n}, cut for comfort.", "A wardrobe staple you will reach for first.",
        "Easy to wear, easy to care for."},
       {"Machine washable.", "Available in five colors.", "True to size.", "Ethically made."}},
      {"Beauty & Personal Care", "beauty", "BEA", 7, &steady_season, true,
       {{"Hand Cream", 5, 24, {"Gentle", "Nourishing", "Rich", "Daily"}, {"Lavender", "Oat", "Shea", "Unscented"}},
        {"Shampoo", 6, 29, {"Gentle", "Daily", "Volumizing", "Clarifying"},
         {"Citrus", "Green Tea", "Rosemary", "Unscented"}},
        {"Conditioner", 6, 29, {"Gentle", "Daily", "Smoothing", "Repairing"},
         {"Argan", "Coconut", "Rosemary", "Unscented"}},
        {"Face Wash", 7, 34, {"Gentle", "Foaming", "Calming", "Fresh"}, {"Oat", "Aloe", "Green Tea", "Unscented"}},
        {"Body Lotion", 7, 29, {"Hydrating", "Light", "Daily", "Rich"}, {"Coconut", "Aloe", "Lavender", "Shea"}},
        {"Lip Balm", 3, 12, {"Soothing", "Tinted", "Daily", "Nourishing"}, {"Vanilla", "Mint", "Honey", "Unscented"}},
        {"Soap Bar", 4, 14, {"Handmade", "Gentle", "Exfoliating", "Classic"},
         {"Olive Oil", "Lavender", "Oat", "Charcoal"}},
        {"Sunscreen SPF 50", 9, 34, {"Light", "Water-Resistant", "Daily", "Sensitive"},
         {"Mineral", "Sport", "Face", "Tinted"}},
        {"Bath Salts", 8, 29, {"Relaxing", "Calming", "Refreshing", "Soothing"},
         {"Lavender", "Eucalyptus", "Rose", "Magnesium"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {m} {n}, made for sensitive skin.", "A small daily luxury.", "Everyday care for the whole family."},
       {"Not tested on animals.", "In a recyclable bottle.", "Dermatologist tested.", "Free of parabens."}},
      {"Office Supplies", "office", "OFF", 6, &school_season, true,
       {{"Notebook", 4, 29, {"Premium", "Recycled", "Classic", "Pocket"}, {"Dotted", "Lined", "Grid", "Hardcover"}},
        {"Pens, Pack of 10", 4, 19, {"Colorful", "Fine-Tip", "Quick-Dry", "Classic"},
         {"Gel", "Ballpoint", "Felt-Tip", "Fountain"}},
        {"Planner", 12, 39, {"Undated", "Weekly", "Minimal", "Classic"},
         {"Linen", "Leather-Look", "Spiral", "Academic"}},
        {"Stapler", 8, 39, {"Heavy-Duty", "Compact", "Classic", "Ergonomic"},
         {"Desk", "Metal", "Long-Reach", "Electric"}},
        {"Desk Organizer", 12, 49, {"Minimal", "Modular", "Classic", "Compact"}, {"Bamboo", "Mesh", "Oak", "Felt"}},
        {"Sticky Notes, 12 Pads", 5, 19, {"Colorful", "Pastel", "Recycled", "Super-Sticky"},
         {"Square", "Lined", "Small", "Large"}},
        {"Binder", 3, 15, {"Heavy-Duty", "Recycled", "Classic", "Colorful"},
         {"Ring", "Lever-Arch", "A4", "Letter-Size"}},
        {"Desk Mat", 12, 45, {"Large", "Minimal", "Classic", "Non-Slip"},
         {"Felt", "Leather-Look", "Cork", "Vegan Leather"}},
        {"Whiteboard", 15, 89, {"Magnetic", "Framed", "Portable", "Large"}, {"Dry-Erase", "Glass", "Desktop", "Wall"}},
        {"Envelopes, 50 Pack", 5, 19, {"Recycled", "Classic", "Self-Seal", "Colorful"},
         {"Kraft", "White", "Padded", "Window"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {n} for desks at home or at work.", "Keeps your work in order.", "A desk essential we use ourselves."},
       {"Acid-free paper where there is paper.", "Refills sold separately.", "Fits in a standard drawer.",
        "Made from recycled materials."}},
      {"Pet Supplies", "pets", "PET", 6, &steady_season, true,
       {{"Dog Bed", 29, 149, {"Cozy", "Orthopedic", "Washable", "Calming"}, {"Memory-Foam", "Bolster", "Donut",
        "Raised"}},
        {"Cat Tree", 39, 199, {"Tall", "Compact", "Modern", "Deluxe"},
         {"Sisal", "Multi-Level", "Corner", "Wall-Mounted"}},
        {"Leash", 9, 39, {"Durable", "Reflective", "Hands-Free", "Padded"},
         {"Nylon", "Rope", "Leather", "Retractable"}},
        {"Dog Treats", 5, 19, {"Natural", "Crunchy", "Soft", "Training"},
         {"Chicken", "Salmon", "Peanut Butter", "Sweet Potato"}},
        {"Cat Food, 12 Cans", 12, 39, {"Grain-Free", "Indoor", "Senior", "Kitten"},
         {"Chicken", "Tuna", "Salmon", "Turkey"}},
        {"Chew Toy", 5, 24, {"Durable", "Interactive", "Squeaky", "Floating"}, {"Rubber", "Rope", "Puzzle", "Ball"}},
        {"Food Bowl", 8, 35, {"Non-Slip", "Raised", "Slow-Feeder", "Travel"},
         {"Ceramic", "Stainless Steel", "Bamboo", "Silicone"}},
        {"Grooming Brush", 8, 29, {"Gentle", "Self-Cleaning", "Deshedding", "Soft"},
         {"Slicker", "Bristle", "Rubber", "Double-Sided"}},
        {"Pet Carrier", 29, 119, {"Airline-Approved", "Soft-Sided", "Rolling", "Ventilated"},
         {"Cat", "Small Dog", "Backpack", "Hard-Shell"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {n}, loved by pets and their people.", "Pets love this one.", "Recommended by the vets we work with."},
       {"Easy to clean.", "Made from pet-safe materials.", "Comes in three sizes.", "Satisfaction guaranteed."}},
      {"Grocery & Gourmet", "grocery", "GRO", 6, &steady_season, true,
       {{"Coffee", 8, 34, {"Single-Origin", "Dark Roast", "Organic", "Smooth"}, {"Mountain-Grown", "House Blend",
        "Espresso", "Decaf"}},
        {"Tea", 5, 24, {"Organic", "Loose-Leaf", "Smoky", "Calming"}, {"Green", "Black", "Herbal", "Chai"}},
        {"Olive Oil", 9, 34, {"Cold-Pressed", "Extra Virgin", "Organic", "Early-Harvest"},
         {"Lemon-Infused", "Garlic-Infused", "Classic", "Peppery"}},
        {"Honey", 6, 24, {"Raw", "Wildflower", "Creamed", "Organic"}, {"Clover", "Orange Blossom", "Forest", "Acacia"}},
        {"Chocolate", 3, 19, {"Dark", "Milk", "Organic", "Single-Origin"}, {"Sea Salt", "Hazelnut", "Orange", "Mint"}},
        {"Granola", 5, 14, {"Crunchy", "Organic", "Low-Sugar", "Toasted"}, {"Almond", "Berry", "Maple", "Coconut"}},
        {"Pasta", 3, 12, {"Bronze-Cut", "Organic", "Whole Wheat", "Artisan"},
         {"Spaghetti", "Penne", "Fusilli", "Rigatoni"}},
        {"Hot Sauce", 5, 15, {"Smoky", "Fiery", "Mild", "Tangy"}, {"Chipotle", "Habanero", "Garlic", "Mango"}},
        {"Nut Butter", 5, 16, {"Crunchy", "Smooth", "Organic", "Roasted"}, {"Peanut", "Almond", "Cashew", "Hazelnut"}},
        {"Gift Box", 25, 39, {"Gourmet", "Deluxe", "Tasting", "Holiday"}, {"Snack", "Breakfast", "Tea", "Chocolate"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {n}, packed fresh.", "From small producers we know by name.", "A pantry favorite."},
       {"Best before date printed on the pack.", "Store in a cool, dry place.", "Suitable for vegetarians.",
        "Makes a lovely gift."}},
      {"Tools & Hardware", "tools", "TOO", 6, &summer_season, false,
       {{"Drill", 49, 199, {"Cordless", "Compact", "Brushless", "Heavy-Duty"}, {"12 V", "18 V", "Hammer", "Impact"}},
        {"Screwdriver Set", 12, 59, {"Precision", "Magnetic", "Ratcheting", "Insulated"},
         {"Steel", "24-Piece", "Electronics", "Stubby"}},
        {"Socket Set", 25, 149, {"Metric", "Heavy-Duty", "Compact", "Pro-Grade"},
         {"40-Piece", "1/4-Inch", "3/8-Inch", "Impact"}},
        {"Tape Measure", 8, 29, {"Magnetic", "Compact", "Heavy-Duty", "Locking"}, {"5 m", "8 m", "Laser", "Steel"}},
        {"Utility Knife", 6, 25, {"Folding", "Retractable", "Heavy-Duty", "Compact"},
         {"Steel", "Snap-Off", "Quick-Change", "Box-Cutter"}},
        {"Clamp Set", 15, 59, {"Quick-Release", "Heavy-Duty", "Compact", "Adjustable"},
         {"Bar", "F-Style", "Spring", "Pipe"}},
        {"Step Ladder", 39, 179, {"Folding", "Lightweight", "Compact", "Heavy-Duty"},
         {"Aluminum", "Three-Step", "Five-Step", "Platform"}},
        {"Spirit Level", 9, 49, {"Magnetic", "Precision", "Compact", "Heavy-Duty"},
         {"Aluminum", "Torpedo", "60 cm", "Digital"}},
        {"Tool Bag", 19, 79, {"Heavy-Duty", "Compact", "Wide-Mouth", "Rolling"},
         {"Canvas", "Waterproof", "16-Inch", "Organizer"}},
        {"Wrench Set", 19, 89, {"Adjustable", "Combination", "Ratcheting", "Metric"},
         {"Steel", "Chrome", "10-Piece", "Stubby"}}},
       {"{a} {m} {n}", "{m} {n}", "{a} {n}"},
       {"Our {a} {m} {n} for home repairs and weekend projects.", "Built for the workshop.", "Tools that last."},
       {"Comes in a sturdy case.", "Lifetime warranty.", "Fits standard fittings.", "Hardened steel where it counts."}},
  };
  return specs;
}
// clang-format on

// `word` for the middle of a sentence: capitalized words become lower case,
// abbreviations ("LED", "4K", "18 V") stay as they are.
std::string in_sentence(std::string_view word) {
  std::string out(word);
  for (std::size_t start = 0; start < out.size();) {
    std::size_t end = out.find_first_of(" -", start);
    if (end == std::string::npos) end = out.size();
    if (end - start >= 2 && out[start] >= 'A' && out[start] <= 'Z' && out[start + 1] >= 'a' && out[start + 1] <= 'z') {
      out[start] = static_cast<char>(out[start] - 'A' + 'a');
    }
    start = end + 1;
  }
  return out;
}

// Fills {a}, {m} and {n} in `pattern`; for a sentence, in sentence case.
std::string fill(std::string_view pattern, std::string_view a, std::string_view m, std::string_view n, bool sentence) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{' && i + 2 < pattern.size() && pattern[i + 2] == '}') {
      std::string_view word = pattern[i + 1] == 'a' ? a : pattern[i + 1] == 'm' ? m : n;
      out += sentence ? in_sentence(word) : std::string(word);
      i += 2;
    } else {
      out += pattern[i];
    }
  }
  if (sentence && !out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

struct product {
  std::size_t category;
  std::string sku;
  std::string name;
  std::string description;
  std::int64_t price_cents;
  int created_day;  // relative to the first day of orders; negative before
};

// A list price in cents within the item's range, nearer its low end, and
// ending like shop prices do: .99, .49, .95 or .00.
std::int64_t list_price(const item_spec& item, random_source& rng) {
  // One draw per statement: the order in which function arguments and
  // operands are evaluated is unspecified, and compilers differ.
  const int one = rng.between(item.min_price, item.max_price);
  const int other = rng.between(item.min_price, item.max_price);
  const int whole = std::min(one, other);
  const int ending = draw({{99, 550}, {49, 150}, {95, 100}, {0, 200}}, rng);
  const std::int64_t cents = std::int64_t{whole} * 100;
  return ending == 0 ? cents : cents - 100 + ending;
}

// -- customers -------------------------------------------------------------------

const std::vector<std::string_view> first_names = {
    "Ada",   "Alex",  "Amara", "Ana",   "Ben",   "Carla", "Chen",  "Dana", "David", "Elena", "Emma",  "Farah",
    "Felix", "Grace", "Hana",  "Ian",   "Iris",  "Jonas", "Julia", "Kai",  "Kenji", "Lara",  "Leo",   "Lina",
    "Luca",  "Maya",  "Mateo", "Mia",   "Nadia", "Nina",  "Noah",  "Olga", "Omar",  "Paula", "Priya", "Rafael",
    "Rosa",  "Sam",   "Sara",  "Sofia", "Tariq", "Theo",  "Uma",   "Vera", "Wei",   "Yara",  "Yusuf", "Zoe"};
const std::vector<std::string_view> last_names = {
    "Adams",  "Alvarez", "Andersen", "Bauer",   "Becker", "Bianchi", "Brooks", "Carter",  "Castro",   "Chen",
    "Costa",  "Dubois",  "Evans",    "Fischer", "Garcia", "Hansen",  "Hughes", "Ito",     "Jansen",   "Kaur",
    "Keller", "Kim",     "Larsen",   "Lopez",   "Martin", "Meyer",   "Moreau", "Murphy",  "Nakamura", "Novak",
    "Okafor", "Olsen",   "Patel",    "Petrov",  "Quinn",  "Rossi",   "Santos", "Schmidt", "Silva",    "Singh",
    "Sato",   "Taylor",  "Walsh",    "Weber",   "Wilson", "Young",   "Zhang",  "Ward"};

struct country_spec {
  std::string_view name;
  std::uint64_t weight;
  std::vector<std::string_view> cities;  // invented towns
};
const std::vector<country_spec>& countries() {
  static const std::vector<country_spec> list = {
      {"United States", 30, {"Riverton", "Oak Hollow", "Lakeview", "Fairport", "Maple Hill", "Cedar Bay"}},
      {"United Kingdom", 13, {"Ashbury", "Kingsford", "Millbrook", "Eastleigh Vale"}},
      {"Germany", 10, {"Lindenfeld", "Bergstadt", "Neuhafen"}},
      {"Canada", 9, {"Pine Harbour", "Northfield", "Silver Lake"}},
      {"France", 8, {"Belleval-sur-Mer", "Saint-Aubin-les-Pr\xC3\xA9s", "Montclair"}},
      {"Australia", 7, {"Wattle Bay", "Sunridge", "Port Ellery"}},
      {"Netherlands", 6, {"Havendam", "Groenveld"}},
      {"Spain", 5, {"Villaverde del Mar", "Puerto Claro"}},
      {"Ireland", 4, {"Ballymore Bay", "Kilbrook"}},
      {"Sweden", 4, {"Bj\xC3\xB6rkvik", "Norrhamn"}},
  };
  return list;
}

struct customer {
  std::string name;
  std::string email;
  std::string_view city;
  std::string_view country;
  int created_day;       // relative to the first day of orders
  int max_orders;        // how many orders this customer will place at most
  std::uint64_t weight;  // how often they order once they have
  int orders = 0;
};

// How likely a customer is to place the next order. Someone who signed up
// during the period almost always orders within days (most sign up at
// checkout); after that it depends on how loyal they are.
std::uint64_t propensity(const customer& c) {
  if (c.orders >= c.max_orders) return 0;
  if (c.orders == 0 && c.created_day >= 0) return 400;
  return c.weight;
}

std::string lower_ascii(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z')
      out += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      out += c;
  }
  return out;
}

// -- the whole data set ------------------------------------------------------------

struct order_row {
  std::size_t customer;  // index into customers
  std::int64_t second;   // since the first day 00:00:00 UTC
  int status;            // 0 completed, 1 cancelled, 2 refunded
};
struct line_row {
  std::size_t order;    // index into orders
  std::size_t product;  // index into products
  int quantity;
  std::int64_t unit_price_cents;
};

struct data_set {
  std::vector<day_info> days;
  std::vector<product> products;    // sorted by created_day: ids follow catalog history
  std::vector<customer> customers;  // sorted by created_day
  std::vector<order_row> orders;    // sorted by time
  std::vector<line_row> lines;
};

void make_products(data_set& data, random_source& rng, int day_count) {
  const auto& specs = categories();
  std::vector<std::uint64_t> popularity;
  for (const auto& c : specs) popularity.push_back(c.popularity + 20);  // catalog sizes vary less than sales
  const weighted_choice category_choice(popularity);
  std::set<std::string, std::less<>> names;
  std::vector<bool> has_anchor(specs.size(), false);
  std::vector<product> made;
  for (std::size_t i = 0; i < product_count; ++i) {
    // Every category gets products: the first twelve go one to each.
    const std::size_t cat = i < specs.size() ? i : category_choice.pick(rng);
    const category_spec& spec = specs[cat];
    const item_spec& item = spec.items[rng.index(spec.items.size())];
    const words& adjectives = item.adjectives.empty() ? spec.adjectives : item.adjectives;
    const words& modifiers = item.modifiers.empty() ? spec.modifiers : item.modifiers;
    product p{cat, {}, {}, {}, list_price(item, rng), 0};
    std::string_view a;
    std::string_view m;
    for (int attempt = 0; attempt < 50; ++attempt) {
      a = rng.pick(adjectives);
      m = rng.pick(modifiers);
      p.name = fill(rng.pick(spec.patterns), a, m, item.noun, false);
      if (!names.contains(p.name)) break;
    }
    if (names.contains(p.name)) p.name += " (Edition " + std::to_string(i + 1) + ")";
    names.insert(p.name);
    p.description = fill(rng.pick(spec.blurbs), a, m, item.noun, true);  // one draw per statement, see list_price
    p.description += " " + std::string(rng.pick(spec.features));
    // Most of the catalog predates the orders; a fifth launches during them
    // (never in the last month), but each category has a product from the start.
    if (!has_anchor[cat] || !rng.chance(200)) {
      p.created_day = -rng.between(1, history_days);
      has_anchor[cat] = true;
    } else {
      p.created_day = rng.between(0, std::max(0, day_count - 31));
    }
    made.push_back(std::move(p));
  }
  // Ids in order of appearance; the generation index breaks ties, so the order is total.
  std::vector<std::size_t> order(made.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return made[x].created_day != made[y].created_day ? made[x].created_day < made[y].created_day : x < y;
  });
  for (std::size_t i : order) {
    product& p = made[i];
    char sku[32];
    std::snprintf(sku, sizeof sku, "%.*s-%05zu", static_cast<int>(specs[p.category].sku_prefix.size()),
                  specs[p.category].sku_prefix.data(), 10000 + data.products.size() + 1);
    p.sku = sku;
    data.products.push_back(std::move(p));
  }
}

void make_customers(data_set& data, random_source& rng, const weighted_choice& day_choice) {
  std::vector<std::uint64_t> country_weights;
  for (const auto& c : countries()) country_weights.push_back(c.weight);
  const weighted_choice country_choice(country_weights);
  const char* const domains[] = {"example.com", "example.org", "example.net"};
  // A fifth had an account before the first order day; the rest sign up
  // during it, more of them as the shop grows and in the busy months.
  std::vector<int> created;
  for (std::size_t i = 0; i < customer_count; ++i) {
    created.push_back(i < customer_count / 5 ? -rng.between(1, history_days) : static_cast<int>(day_choice.pick(rng)));
  }
  std::sort(created.begin(), created.end());  // equal values are interchangeable
  for (std::size_t i = 0; i < customer_count; ++i) {
    const std::string_view first = rng.pick(first_names);
    const std::string_view last = rng.pick(last_names);
    const country_spec& country = countries()[country_choice.pick(rng)];
    customer c;
    c.name = std::string(first) + " " + std::string(last);
    c.email = lower_ascii(first) + "." + lower_ascii(last) + std::to_string(i + 1) + "@" + domains[rng.index(3)];
    c.city = rng.pick(country.cities);
    c.country = country.name;
    c.created_day = created[i];
    // Many order once, some a few times, a few keep coming back; some never order.
    c.max_orders =
        draw({{0, 30}, {1, 380}, {2, 150}, {3, 100}, {5, 100}, {10, 90}, {20, 70}, {40, 50}, {1 << 30, 30}}, rng);
    c.weight = c.max_orders <= 3 ? 2 : c.max_orders <= 10 ? 3 : c.max_orders <= 20 ? 5 : 8;
    data.customers.push_back(std::move(c));
  }
}

void make_orders(data_set& data, random_source& rng, const weighted_choice& day_choice, std::size_t target_lines) {
  // Basket sizes first, so the number of lines is exactly the target: 1 to 8
  // lines, most 1 to 3. The last basket is cut to fit.
  std::vector<int> baskets;
  std::size_t lines = 0;
  while (lines < target_lines) {
    int size = draw({{1, 360}, {2, 250}, {3, 160}, {4, 90}, {5, 60}, {6, 40}, {7, 25}, {8, 15}}, rng);
    size = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(size), target_lines - lines));
    baskets.push_back(size);
    lines += static_cast<std::size_t>(size);
  }
  // Then a time for each order: a day by the calendar's weights, an hour by the daily rhythm.
  std::vector<std::uint64_t> hours(hour_volume.begin(), hour_volume.end());
  const weighted_choice hour_choice(hours);
  std::vector<std::int64_t> times;
  times.reserve(baskets.size());
  for (std::size_t i = 0; i < baskets.size(); ++i) {
    const auto day = static_cast<std::int64_t>(day_choice.pick(rng));
    const auto hour = static_cast<std::int64_t>(hour_choice.pick(rng));
    times.push_back(day * 86400 + hour * 3600 + rng.between(0, 3599));
  }
  std::sort(times.begin(), times.end());  // equal values are interchangeable

  const auto& specs = categories();
  // Which category a line comes from, per calendar month.
  std::vector<weighted_choice> category_by_month;
  for (std::size_t month = 0; month < 12; ++month) {
    std::vector<std::uint64_t> w;
    for (const auto& c : specs) w.push_back(c.popularity * (*c.seasonality)[month]);
    category_by_month.emplace_back(w);
  }
  // Within a category, popularity follows Zipf's law (weight 1/rank) over a
  // random ranking: a few products sell far more than the rest.
  std::vector<std::vector<std::size_t>> members(specs.size());
  for (std::size_t i = 0; i < data.products.size(); ++i) members[data.products[i].category].push_back(i);
  std::vector<weighted_choice> product_in_category;
  for (auto& m : members) {
    shuffle(m, rng);
    std::vector<std::uint64_t> w;
    for (std::size_t rank = 0; rank < m.size(); ++rank) w.push_back(100000000 / (rank + 1));
    product_in_category.emplace_back(w);
  }

  std::vector<customer>& customers = data.customers;
  fenwick_weights propensities(customers.size());
  for (std::size_t i = 0; i < customers.size(); ++i) propensities.set(i, propensity(customers[i]));
  std::size_t signed_up = 0;  // customers[0, signed_up) have an account by the order's day

  data.orders.reserve(times.size());
  data.lines.reserve(target_lines);
  std::vector<std::size_t> basket;
  for (std::size_t o = 0; o < times.size(); ++o) {
    const auto day = static_cast<std::size_t>(times[o] / 86400);
    const day_info& info = data.days[day];
    const int day_index = static_cast<int>(day);
    while (signed_up < customers.size() && customers[signed_up].created_day <= day_index) ++signed_up;
    const std::uint64_t total = propensities.prefix(signed_up);
    const std::size_t who =
        total > 0 ? propensities.find(rng.below(total)) : rng.index(std::max<std::size_t>(signed_up, 1));
    ++customers[who].orders;
    propensities.set(who, propensity(customers[who]));
    const int status = draw({{0, 955}, {1, 25}, {2, 20}}, rng);
    data.orders.push_back({who, times[o], status});

    // Lines: distinct products on sale that day; baskets stay in one
    // category a little more often than chance.
    basket.clear();
    std::size_t category = category_by_month[info.month].pick(rng);
    for (int l = 0; l < baskets[o]; ++l) {
      if (l > 0 && !rng.chance(450)) category = category_by_month[info.month].pick(rng);
      std::size_t chosen = data.products.size();
      for (int attempt = 0; attempt < 16 && chosen == data.products.size(); ++attempt) {
        const std::size_t candidate = members[category][product_in_category[category].pick(rng)];
        if (data.products[candidate].created_day <= day_index &&
            std::find(basket.begin(), basket.end(), candidate) == basket.end()) {
          chosen = candidate;
        }
      }
      // Rarely needed: the first product on sale not yet in the basket, from
      // a random starting point (more products predate the orders than a basket holds).
      for (std::size_t k = 0, start = rng.index(data.products.size()); chosen == data.products.size(); ++k) {
        const std::size_t candidate = (start + k) % data.products.size();
        if (data.products[candidate].created_day <= day_index &&
            std::find(basket.begin(), basket.end(), candidate) == basket.end()) {
          chosen = candidate;
        }
      }
      basket.push_back(chosen);
      const product& p = data.products[chosen];
      const int quantity = specs[p.category].consumable ? draw({{1, 640}, {2, 200}, {3, 80}, {4, 40}, {6, 40}}, rng)
                                                        : draw({{1, 860}, {2, 100}, {3, 25}, {4, 10}, {5, 5}}, rng);
      const int discount = info.sale ? draw({{0, 520}, {10, 240}, {20, 160}, {30, 80}}, rng)
                                     : draw({{0, 900}, {10, 60}, {20, 30}, {25, 10}}, rng);
      const std::int64_t unit = (p.price_cents * (100 - discount) + 50) / 100;
      data.lines.push_back({o, chosen, quantity, unit});
    }
  }
}

data_set generate(const demo_options& options) {
  const chrono::sys_days last{last_day};
  const chrono::sys_days first = chrono::sys_days{chrono::year_month_day{last_day.year() - chrono::years{options.years},
                                                                         last_day.month(), last_day.day()}} +
                                 chrono::days{1};
  data_set data;
  data.days = build_calendar(first, last, options.years);
  std::vector<std::uint64_t> day_weights;
  for (const auto& d : data.days) day_weights.push_back(d.weight);
  const weighted_choice day_choice(day_weights);

  // One stream per part, so that changing one part's draws leaves the others alone.
  random_source seeds(options.seed);
  random_source product_rng(seeds.next());
  random_source customer_rng(seeds.next());
  random_source order_rng(seeds.next());
  make_products(data, product_rng, static_cast<int>(data.days.size()));
  make_customers(data, customer_rng, day_choice);
  make_orders(data, order_rng, day_choice, options.target_order_lines);
  return data;
}

// -- writing -------------------------------------------------------------------------

constexpr const char* schema_sql = R"sql(
CREATE TABLE categories (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  slug TEXT NOT NULL UNIQUE
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  category_id INTEGER NOT NULL REFERENCES categories(id),
  price REAL NOT NULL,
  description TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE,
  city TEXT NOT NULL,
  country TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  ordered_at TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('completed', 'cancelled', 'refunded'))
);
CREATE TABLE order_lines (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES orders(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  unit_price REAL NOT NULL
);
CREATE TABLE demo_info (
  key TEXT PRIMARY KEY,
  value TEXT
);
)sql";

// Built after the rows are in: faster than maintaining them row by row.
constexpr const char* index_sql = R"sql(
CREATE INDEX products_name ON products(name COLLATE NOCASE);
CREATE INDEX products_category ON products(category_id);
CREATE INDEX customers_created ON customers(created_at);
CREATE INDEX orders_ordered_at ON orders(ordered_at);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_product ON order_lines(product_id);
)sql";

std::string format_time(const data_set& data, std::int64_t second) {
  const day_info& day = data.days[static_cast<std::size_t>(second / 86400)];
  const auto in_day = static_cast<int>(second % 86400);
  char text[32];
  std::snprintf(text, sizeof text, "%sT%02d:%02d:%02dZ", day.text.c_str(), in_day / 3600, in_day / 60 % 60,
                in_day % 60);
  return text;
}

std::string day_text(const data_set& data, int day) {
  return day >= 0 ? data.days[static_cast<std::size_t>(day)].text
                  : format_date(data.days.front().date + chrono::days{day});
}

double money(std::int64_t cents) { return static_cast<double>(cents) / 100.0; }

void write_rows(SQLite::Database& db, const data_set& data, const demo_options& options) {
  // The file is private until renamed into place, and fsync'ed before that:
  // no journal syncs needed while building it.
  db.exec(
      "PRAGMA page_size = 4096; PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;"
      "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;");
  db.exec("PRAGMA application_id = " + std::to_string(application_id) +
          "; PRAGMA user_version = " + std::to_string(generator_version) + ";");
  SQLite::Transaction transaction(db);
  db.exec(schema_sql);

  const auto& specs = categories();
  SQLite::Statement category(db, "INSERT INTO categories (id, name, slug) VALUES (?, ?, ?)");
  for (std::size_t i = 0; i < specs.size(); ++i) {
    category.bind(1, static_cast<std::int64_t>(i + 1));
    category.bind(2, std::string(specs[i].name));
    category.bind(3, std::string(specs[i].slug));
    category.exec();
    category.reset();
  }
  SQLite::Statement product(
      db,
      "INSERT INTO products (id, sku, name, category_id, price, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (std::size_t i = 0; i < data.products.size(); ++i) {
    const auto& p = data.products[i];
    product.bind(1, static_cast<std::int64_t>(i + 1));
    product.bindNoCopy(2, p.sku);
    product.bindNoCopy(3, p.name);
    product.bind(4, static_cast<std::int64_t>(p.category + 1));
    product.bind(5, money(p.price_cents));
    product.bindNoCopy(6, p.description);
    product.bind(7, day_text(data, p.created_day));
    product.exec();
    product.reset();
  }
  SQLite::Statement customer(
      db, "INSERT INTO customers (id, name, email, city, country, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  for (std::size_t i = 0; i < data.customers.size(); ++i) {
    const auto& c = data.customers[i];
    customer.bind(1, static_cast<std::int64_t>(i + 1));
    customer.bindNoCopy(2, c.name);
    customer.bindNoCopy(3, c.email);
    customer.bind(4, std::string(c.city));
    customer.bind(5, std::string(c.country));
    customer.bind(6, day_text(data, c.created_day));
    customer.exec();
    customer.reset();
  }
  const char* const statuses[] = {"completed", "cancelled", "refunded"};
  SQLite::Statement order(db, "INSERT INTO orders (id, customer_id, ordered_at, status) VALUES (?, ?, ?, ?)");
  for (std::size_t i = 0; i < data.orders.size(); ++i) {
    const auto& o = data.orders[i];
    order.bind(1, static_cast<std::int64_t>(i + 1));
    order.bind(2, static_cast<std::int64_t>(o.customer + 1));
    order.bind(3, format_time(data, o.second));
    order.bindNoCopy(4, statuses[o.status]);
    order.exec();
    order.reset();
  }
  SQLite::Statement line(
      db, "INSERT INTO order_lines (id, order_id, product_id, quantity, unit_price) VALUES (?, ?, ?, ?, ?)");
  for (std::size_t i = 0; i < data.lines.size(); ++i) {
    const auto& l = data.lines[i];
    line.bind(1, static_cast<std::int64_t>(i + 1));
    line.bind(2, static_cast<std::int64_t>(l.order + 1));
    line.bind(3, static_cast<std::int64_t>(l.product + 1));
    line.bind(4, l.quantity);
    line.bind(5, money(l.unit_price_cents));
    line.exec();
    line.reset();
  }
  SQLite::Statement info(db, "INSERT INTO demo_info (key, value) VALUES (?, ?)");
  const std::pair<const char*, std::string> facts[] = {
      {"generator", "trellis demo init"},     {"generator_version", std::to_string(generator_version)},
      {"seed", std::to_string(options.seed)}, {"start_date", data.days.front().text},
      {"end_date", data.days.back().text},    {"currency", "USD"},
  };
  for (const auto& [key, value] : facts) {
    info.bind(1, key);
    info.bind(2, value);
    info.exec();
    info.reset();
  }
  db.exec(index_sql);
  db.exec("ANALYZE");
  transaction.commit();
  db.exec("VACUUM");
}

void write_database(const fs::path& file, const data_set& data, const demo_options& options) {
  SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  try {
    write_rows(db, data, options);
  } catch (const SQLite::Exception& e) {
    // "disk I/O error" says little; the system's reason ("No space left on device") says more.
    if (const int error = sqlite3_system_errno(db.getHandle()); error != 0) {
      throw std::runtime_error(std::string(e.what()) + ": " + std::strerror(error));
    }
    throw;
  }
}

// -- publishing the file -------------------------------------------------------------

void sync_path(const fs::path& p, int flags) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + p.string());
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory; the data itself is synced.
  if (rc != 0 && !((flags & O_DIRECTORY) != 0 && (error == EINVAL || error == EBADF))) {
    throw std::system_error(error, std::generic_category(), "fsync " + p.string());
  }
}

// Moves `from` to `to`; without `overwrite`, atomically refuses an existing `to`.
void publish(const fs::path& from, const fs::path& to, bool overwrite) {
  if (!overwrite) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return;
    if (errno == EEXIST) throw demo_database_exists("demo database " + to.string() + " already exists");
    if (errno != EINVAL && errno != ENOSYS) {
      throw std::system_error(errno, std::generic_category(), "cannot rename " + from.string());
    }
    // The file system has no no-replace rename: check, then rename.
    std::error_code ec;
    if (fs::exists(to, ec)) throw demo_database_exists("demo database " + to.string() + " already exists");
  }
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot rename " + from.string());
  }
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
}

fs::path with_suffix(const fs::path& p, std::string_view suffix) {
  fs::path out = p;
  out += std::string(suffix);
  return out;
}

}  // namespace

demo_summary create_demo_database(const fs::path& path, const demo_options& options) {
  if (options.years < 1 || options.years > 10) {
    throw std::invalid_argument("demo data: years must be between 1 and 10, not " + std::to_string(options.years));
  }
  if (options.target_order_lines < 1 || options.target_order_lines > 10000000) {
    throw std::invalid_argument("demo data: target_order_lines must be between 1 and 10000000, not " +
                                std::to_string(options.target_order_lines));
  }
  if (path.empty()) throw std::invalid_argument("demo data: the database path is empty");
  const std::string failed = "cannot create demo database " + path.string() + ": ";

  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (fs::exists(status)) {
    if (!options.overwrite) throw demo_database_exists("demo database " + path.string() + " already exists");
    if (fs::is_directory(status)) throw std::runtime_error(failed + "it is a directory");
  }
  const fs::path parent = path.parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) throw std::runtime_error(failed + "cannot create directory " + parent.string() + ": " + ec.message());
  }

  // A leftover with this name would come from a process with the same pid
  // that was killed: start from nothing.
  const fs::path temp = with_suffix(path, ".tmp-" + std::to_string(::getpid()));
  const fs::path temp_journal = with_suffix(temp, "-journal");
  remove_quietly(temp);
  remove_quietly(temp_journal);
  try {
    const data_set data = generate(options);
    write_database(temp, data, options);
    sync_path(temp, O_RDONLY);
    // A stale rollback journal beside the old file would be replayed into
    // the new one the next time it is opened.
    if (options.overwrite) remove_quietly(with_suffix(path, "-journal"));
    publish(temp, path, options.overwrite);
    sync_path(parent.empty() ? fs::path(".") : parent, O_RDONLY | O_DIRECTORY);

    demo_summary summary;
    summary.categories = categories().size();
    summary.products = data.products.size();
    summary.customers = data.customers.size();
    summary.orders = data.orders.size();
    summary.order_lines = data.lines.size();
    summary.path = path;
    return summary;
  } catch (const demo_database_exists&) {
    remove_quietly(temp);
    remove_quietly(temp_journal);
    throw;
  } catch (const std::exception& e) {
    remove_quietly(temp);
    remove_quietly(temp_journal);
    throw std::runtime_error(failed + e.what());
  }
}

fs::path default_demo_database_path(const env_lookup& env) {
  auto value = [&](std::string_view name) -> std::string {
    auto v = env(name);
    return v ? *v : std::string();
  };
  if (std::string dir = value("TRELLIS_DATA_DIR"); !dir.empty()) return fs::path(dir) / "demo.db";
  if (std::string dir = value("XDG_DATA_HOME"); !dir.empty() && fs::path(dir).is_absolute()) {
    return fs::path(dir) / "trellis" / "demo.db";
  }
  if (std::string home = value("HOME"); !home.empty())
    return fs::path(home) / ".local" / "share" / "trellis" / "demo.db";
  return {};
}

}  // namespace trellis::host
