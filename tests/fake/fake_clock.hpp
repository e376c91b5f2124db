// A clock that moves only when told: the daemon loop's timers fire inside
// advance(), in deadline order, so its tests wait for nothing.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include "daemon/loop.hpp"

namespace netkeep {

class ManualClock : public Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  time_point now() const override { return now_; }
  std::unique_ptr<Timer> timer() override {
    auto slot = std::make_shared<Slot>();
    slots_.push_back(slot);
    return std::make_unique<ManualTimer>(slot);
  }

  // Moves time on by `d`, firing each timer that falls due on the way at
  // its deadline, earliest first (a timer a handler arms inside the window
  // fires too).
  void advance(std::chrono::steady_clock::duration d) {
    const time_point until = now_ + d;
    for (;;) {
      Slot* next = nullptr;
      for (const auto& s : slots_)
        if (s->fire && s->when <= until && (!next || s->when < next->when)) next = s.get();
      if (!next) break;
      now_ = std::max(now_, next->when);
      auto fire = std::move(next->fire);
      next->fire = nullptr;
      fire();
    }
    now_ = until;
  }

 private:
  struct Slot {
    time_point when;
    std::function<void()> fire;  // empty: not armed
  };
  class ManualTimer : public Timer {
   public:
    explicit ManualTimer(std::shared_ptr<Slot> s) : s_(std::move(s)) {}
    ~ManualTimer() override { cancel(); }
    void at(time_point when, std::function<void()> fire) override {
      s_->when = when;
      s_->fire = std::move(fire);
    }
    void cancel() override { s_->fire = nullptr; }

   private:
    std::shared_ptr<Slot> s_;
  };

  time_point now_ = time_point(std::chrono::hours(1));
  std::vector<std::shared_ptr<Slot>> slots_;
};

}  // namespace netkeep
