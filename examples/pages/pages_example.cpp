// pages_example.cpp: everything a page author needs, in one plugin.
//
//   GET  /pages-example/                 notes, a search (?q=) and a form   (menu "Notes")
//   POST /pages-example/notes            the form: request.form, then 303 to the new note
//   GET  /pages-example/notes/{id}       one note; ?highlight=word marks a word
//   GET  /pages-example/api/notes        the notes as JSON
//   POST /pages-example/api/notes        adds a note from a JSON body: request.json
//   GET  /pages-example/export           the notes as text, streamed one note per chunk
//   GET  /pages-example/live             a live counter, a clock and a live form (menu "Live demo")
//   EVENT increment, greet               browser events from the live page
//   GET  /pages-example/broken           throws, to show the host's 500 page
//   /pages-example/static/notebook.svg   a static asset, used by the pages
//
// docs/pages.md explains each part. Handlers run on the host's I/O threads,
// several at once: all shared state below is behind a mutex or atomic.
#include <trellis/html.hpp>
#include <trellis/sdk.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using namespace trellis::html;

constexpr std::string_view base = "/pages-example";  // pages mount under /<plugin-id>
constexpr std::size_t max_notes = 1000;
constexpr std::size_t max_title = 100;
constexpr std::size_t max_text = 2000;

// -- State shared by the handlers --------------------------------------------

struct note {
  long id = 0;
  std::string title;
  std::string text;
};

// The notes, safe to use from several I/O threads at once.
class notebook {
 public:
  std::optional<note> get(long id) const {
    std::lock_guard lock(mu_);
    auto it = notes_.find(id);
    if (it == notes_.end()) return std::nullopt;
    return it->second;
  }
  /// Notes whose title or text contains `q` (all notes when q is empty).
  std::vector<note> find(std::string_view q) const {
    std::lock_guard lock(mu_);
    std::vector<note> out;
    for (const auto& [id, n] : notes_) {
      if (q.empty() || n.title.find(q) != std::string::npos ||
          n.text.find(q) != std::string::npos) {
        out.push_back(n);
      }
    }
    return out;
  }
  /// The new note's id; nullopt when the notebook is full.
  std::optional<long> add(std::string title, std::string text) {
    std::lock_guard lock(mu_);
    if (notes_.size() >= max_notes) return std::nullopt;
    long id = next_id_++;
    notes_[id] = note{id, std::move(title), std::move(text)};
    return id;
  }

 private:
  mutable std::mutex mu_;
  std::map<long, note> notes_;
  long next_id_ = 1;
};

// Calls `fn` every `period` on its own thread until stop() or destruction.
class ticker {
 public:
  ticker(std::chrono::milliseconds period, std::function<void()> fn)
      : period_(period), fn_(std::move(fn)), thread_([this] { run(); }) {}
  ticker(const ticker&) = delete;
  ticker& operator=(const ticker&) = delete;
  ~ticker() { stop(); }

  /// Wakes the thread and waits for it to end. Safe to call twice.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    // wait_for returns early, with true, as soon as stop() is called.
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      fn_();
      lock.lock();
    }
  }

  std::chrono::milliseconds period_;
  std::function<void()> fn_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once everything above is initialised
};

struct state {
  notebook notes;
  std::atomic<long> count{0};
  std::atomic<long> ticks{0};
};

// -- Helpers -------------------------------------------------------------------

std::string now_hms() {
  std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  char buffer[16];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%H:%M:%S", &local);
  return std::string(buffer, n);
}

std::optional<long> parse_id(std::string_view text) {
  long id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

std::string note_url(long id) { return std::string(base) + "/notes/" + std::to_string(id); }

// What is wrong with a new note, or "" when it is fine.
std::string check_note(std::string_view title, std::string_view text) {
  if (title.empty()) return "A note needs a title.";
  if (title.size() > max_title)
    return "The title is longer than " + std::to_string(max_title) + " bytes.";
  if (text.size() > max_text)
    return "The text is longer than " + std::to_string(max_text) + " bytes.";
  return {};
}

// The plugin's own SVG, served by the host at /pages-example/static/notebook.svg.
constexpr std::string_view notebook_svg =
    R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32">)"
    R"(<rect x="6" y="3" width="21" height="26" rx="3" fill="#2f6fdf"/>)"
    R"(<rect x="10" y="3" width="17" height="26" rx="2" fill="#e8efff"/>)"
    R"(<path d="M14 10h9M14 15h9M14 20h6" stroke="#2f6fdf" stroke-width="2" stroke-linecap="round"/>)"
    R"(<path d="M4 8h4M4 14h4M4 20h4M4 26h4" stroke="#8a94a6" stroke-width="2" stroke-linecap="round"/>)"
    R"(</svg>)";

node icon() {
  return img(attrs{{"src", std::string(base) + "/static/notebook.svg"},
                   {"alt", ""},
                   {"width", "32"},
                   {"height", "32"},
                   {"style", "vertical-align: middle; margin-right: .4rem"}});
}

// -- Pages -------------------------------------------------------------------------

// The form that adds a note. After a failed POST it shows the error and keeps
// what was typed; the values are escaped like any other text.
node note_form(std::string_view error = {}, std::string_view title = {},
               std::string_view text = {}) {
  // The theme styles inputs but leaves their width to the page: these fill the card.
  constexpr std::string_view wide = "width: 100%; max-width: 40rem";
  return div(
      attrs{{"class", "card"}}, h2("Add a note"),
      error.empty() ? node{} : p(attrs{{"class", "bad"}, {"role", "alert"}}, error),
      form(attrs{{"method", "post"}, {"action", std::string(base) + "/notes"}},
           p(label(attrs{{"for", "note-title"}}, "Title"), br(),
             input(attrs{{"id", "note-title"},
                         {"name", "title"},
                         {"value", title},
                         {"required", ""},
                         {"maxlength", std::to_string(max_title)},
                         {"style", wide}})),
           p(label(attrs{{"for", "note-text"}}, "Text"), br(),
             textarea(attrs{{"id", "note-text"}, {"name", "text"}, {"rows", "4"}, {"style", wide}},
                      text)),
           button(attrs{{"type", "submit"}}, "Add note")));
}

void notes_page(const state& st, std::string_view q, trellis::response& res,
                const node& form_card) {
  std::vector<note> found = st.notes.find(q);
  node list;
  if (found.empty()) {
    list = p(attrs{{"class", "muted"}},
             q.empty() ? "No notes yet. Add one below." : "No note matches.");
  } else {
    list = ul(each(found, [](const note& n) {
      return li(a(attrs{{"href", note_url(n.id)}}, n.title));
    }));
  }
  res.page(
      "Notes",
      fragment(
          h1(icon(), "Notes"),
          form(attrs{{"method", "get"}, {"action", std::string(base) + "/"}, {"role", "search"}},
               p(input(attrs{{"name", "q"},
                             {"value", q},
                             {"placeholder", "Search notes"},
                             {"aria-label", "Search notes"}}),
                 " ", button(attrs{{"type", "submit"}, {"class", "secondary"}}, "Search"))),
          // q came from the address bar: escaped like every text argument.
          q.empty() ? node{} : p("Notes containing ", strong(q), ":"),
          div(attrs{{"class", "card"}, {"id", "notes"}}, list), form_card));
}

// The note's text with every occurrence of `word` wrapped in <mark>.
node highlighted(std::string_view text, std::string_view word) {
  if (word.empty()) return fragment(text);
  node out;
  std::size_t start = 0;
  for (std::size_t at = text.find(word); at != std::string_view::npos;
       at = text.find(word, start)) {
    out += text.substr(start, at - start);
    out += element("mark", attrs{}, text.substr(at, word.size()));
    start = at + word.size();
  }
  out += text.substr(start);
  return out;
}

void note_page(const state& st, trellis::request& req, trellis::response& res) {
  std::optional<long> id = parse_id(req.param("id").value_or(""));
  std::optional<note> n = id ? st.notes.get(*id) : std::nullopt;
  if (!n) {
    res.status(404).page("Note not found",
                         fragment(h1("Note not found"),
                                  p("There is no note ", code(req.param("id").value_or("")), ". ",
                                    a(attrs{{"href", std::string(base) + "/"}}, "All notes"))));
    return;
  }
  std::string_view word = req.query("highlight").value_or("");
  res.page(
      n->title,
      fragment(p(a(attrs{{"href", std::string(base) + "/"}}, "← All notes")),
               article(attrs{{"class", "card"}}, h1(icon(), n->title),
                       p(attrs{{"style", "white-space: pre-wrap"}}, highlighted(n->text, word))),
               form(attrs{{"method", "get"}, {"action", note_url(n->id)}},
                    input(attrs{{"name", "highlight"},
                                {"value", word},
                                {"placeholder", "Word to highlight"},
                                {"aria-label", "Word to highlight"}}),
                    " ", button(attrs{{"type", "submit"}, {"class", "secondary"}}, "Highlight"))));
}

void add_note_from_form(state& st, trellis::request& req, trellis::response& res) {
  std::string_view title = req.form("title").value_or("");
  std::string_view text = req.form("text").value_or("");
  if (std::string error = check_note(title, text); !error.empty()) {
    res.status(400);
    notes_page(st, "", res, note_form(error, title, text));
    return;
  }
  std::optional<long> id = st.notes.add(std::string(title), std::string(text));
  if (!id) {
    res.status(409);
    notes_page(st, "", res, note_form("The notebook is full.", title, text));
    return;
  }
  // Post/redirect/get: reloading the note does not post the form again.
  res.status(303).header("Location", note_url(*id)).text("See " + note_url(*id) + "\n");
}

void notes_json(const state& st, trellis::response& res) {
  std::string body = "{\"notes\":[";
  bool first = true;
  for (const note& n : st.notes.find("")) {
    if (!first) body += ',';
    first = false;
    body += "{\"id\":" + std::to_string(n.id) + ",\"title\":" + trellis::json_quote(n.title) +
            ",\"text\":" + trellis::json_quote(n.text) +
            ",\"url\":" + trellis::json_quote(note_url(n.id)) + "}";
  }
  res.json(body + "]}\n");
}

void add_note_from_json(state& st, trellis::request& req, trellis::response& res) {
  auto fail = [&](std::string_view message) {
    res.status(400).json("{\"error\":" + trellis::json_quote(message) + "}\n");
  };
  std::optional<trellis::json_value> title;
  std::optional<trellis::json_value> text;
  try {
    title = req.json("/title");
    text = req.json("/text");
  } catch (const trellis::error& e) {  // INVALID_ARGUMENT: the body is not JSON
    return fail(e.what());
  }
  if (!title || title->type != TRELLIS_JSON_STRING) return fail("'title' must be a string");
  if (text && text->type != TRELLIS_JSON_STRING) return fail("'text' must be a string");
  std::string_view body_text = text ? text->text : std::string_view{};
  if (std::string error = check_note(title->text, body_text); !error.empty()) return fail(error);
  std::optional<long> id = st.notes.add(std::string(title->text), std::string(body_text));
  if (!id) return fail("the notebook is full");
  res.status(201)
      .header("Location", note_url(*id))
      .json("{\"id\":" + std::to_string(*id) + ",\"url\":" + trellis::json_quote(note_url(*id)) +
            "}\n");
}

// A body that can be large goes out in chunks: the host calls the producer
// again each time the previous chunk was sent, so it never sits in memory whole.
void export_notes(const state& st, trellis::response& res) {
  auto notes = std::make_shared<const std::vector<note>>(st.notes.find(""));
  res.header("Content-Type", "text/plain; charset=utf-8");
  res.stream([notes, next = std::size_t{0}](trellis::response& chunk) mutable {
    if (next < notes->size()) {
      const note& n = (*notes)[next++];
      chunk.write("# " + n.title + "\n\n" + n.text + "\n\n");
    }
    return next < notes->size();  // true: call again for the next chunk
  });
}

void live_page(const state& st, trellis::response& res) {
  res.page(
      "Live demo",
      fragment(
          h1(icon(), "Live demo"),
          p(attrs{{"class", "muted"}},
            "No reload, no script of its own: the host's runtime sends events and "
            "applies updates over one WebSocket. Connection: ",
            span(attrs{{"class", "trellis-live-status"}}, "connecting…")),
          div(attrs{{"class", "grid"}},
              // Replies to the click update this page; the publish in the handler
              // updates every other page showing the counter.
              div(attrs{{"class", "card"}, {"data-trellis-topic", "pages-example/counter"}},
                  h2("Counter"),
                  div(attrs{{"class", "figure"}, {"data-trellis-bind", "count"}, {"id", "count"}},
                      st.count.load()),
                  p(button(
                      attrs{{"data-trellis-event", "pages-example/increment"}, {"id", "increment"}},
                      "Add one"))),
              // Published every second by the clock thread.
              div(attrs{{"class", "card"}, {"data-trellis-topic", "pages-example/clock"}},
                  h2("Server clock"),
                  div(attrs{{"class", "figure"}, {"data-trellis-bind", "time"}, {"id", "time"}},
                      now_hms()),
                  p(attrs{{"class", "muted"}}, "Tick ",
                    span(attrs{{"data-trellis-bind", "ticks"}, {"id", "ticks"}}, st.ticks.load()))),
              // A form sent as an event: its fields arrive with it.
              div(attrs{{"class", "card"}}, h2("Greeting"),
                  form(attrs{{"data-trellis-event", "pages-example/greet"}, {"id", "greet"}},
                       p(input(attrs{{"name", "name"},
                                     {"placeholder", "Your name"},
                                     {"aria-label", "Your name"},
                                     {"style", "width: 100%"}})),
                       button(attrs{{"type", "submit"}}, "Greet")),
                  p(attrs{{"data-trellis-bind", "greeting"},
                          {"id", "greeting"},
                          {"aria-live", "polite"}},
                    "Type a name and press Greet.")))));
}

void setup(trellis::plugin& p) {
  auto st = std::make_shared<state>();

  p.add_asset("notebook.svg", "image/svg+xml", notebook_svg);

  p.add_page({.path = "/", .menu = "Notes", .menu_order = 10},
             [st](trellis::request& req, trellis::response& res) {
               notes_page(*st, req.query("q").value_or(""), res, note_form());
             });
  p.add_page(
      {.method = "POST", .path = "/notes"},
      [st](trellis::request& req, trellis::response& res) { add_note_from_form(*st, req, res); });
  p.add_page({.path = "/notes/{id}"},
             [st](trellis::request& req, trellis::response& res) { note_page(*st, req, res); });
  p.add_page({.path = "/api/notes"},
             [st](trellis::request&, trellis::response& res) { notes_json(*st, res); });
  p.add_page(
      {.method = "POST", .path = "/api/notes"},
      [st](trellis::request& req, trellis::response& res) { add_note_from_json(*st, req, res); });
  p.add_page({.path = "/export"},
             [st](trellis::request&, trellis::response& res) { export_notes(*st, res); });
  p.add_page({.path = "/live", .menu = "Live demo", .menu_order = 11},
             [st](trellis::request&, trellis::response& res) { live_page(*st, res); });
  p.add_page({.path = "/broken"}, [](trellis::request&, trellis::response&) {
    throw std::runtime_error("this page fails on purpose");  // the visitor sees a 500 page
  });

  p.add_event("increment", [p, st](trellis::event& ev) {
    std::string count = std::to_string(++st->count);
    ev.set("count", count);                    // the page that clicked
    p.publish("counter", {{"count", count}});  // every page subscribed to pages-example/counter
  });
  p.add_event("greet", [](trellis::event& ev) {
    std::string_view name = ev.field("name").value_or("");
    // Bound values are set as text, never as markup: no escaping needed here.
    ev.set("greeting",
           name.empty() ? "Hello, whoever you are!" : "Hello, " + std::string(name) + "!");
  });

  // The clock: a thread of our own publishes every second. Created last, so
  // nothing in setup can throw after it started; on_shutdown joins it.
  auto clock = std::make_shared<ticker>(std::chrono::seconds(1), [p, st] {
    try {
      p.publish("clock", {{"time", now_hms()}, {"ticks", std::to_string(++st->ticks)}});
    } catch (const std::exception& e) {
      p.warn(std::string("clock: ") + e.what());
    }
  });
  p.on_shutdown([clock] { clock->stop(); });
}

}  // namespace

// clang-format off
TRELLIS_PLUGIN(R"({
  "id": "pages-example", "version": "1.0.0", "name": "Pages example",
  "description": "Notes, a form, a JSON API and a live page: the example of docs/pages.md",
  "contributions": {"pages": ["GET /", "POST /notes", "GET /notes/{id}", "GET /api/notes",
                              "POST /api/notes", "GET /export", "GET /live", "GET /broken",
                              "EVENT /increment", "EVENT /greet"]}
})", setup)
// clang-format on
