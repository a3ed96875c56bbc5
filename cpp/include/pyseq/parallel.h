// Threads through one door: every parallel loop in pyseq goes through parallel_for.
#pragma once

#include <cstdint>
#include <functional>

namespace pyseq {

// Number of threads parallel_for may use (defaults to OMP_NUM_THREADS or the core count).
int get_num_threads();
void set_num_threads(int n);

namespace detail {
void parallel_run(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);
bool in_parallel_region();
}  // namespace detail

// Calls fn(b, e) on disjoint chunks covering [begin, end). Ranges of at most `grain` items, a
// single thread, or a call from inside another parallel region run inline on the caller's thread.
template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& fn) {
  if (end <= begin) return;
  if (end - begin <= grain || get_num_threads() == 1 || detail::in_parallel_region()) {
    fn(begin, end);
    return;
  }
  detail::parallel_run(begin, end, grain, fn);
}

// Runs fn(thread, threads, barrier) on every member of a team of up to `threads` threads (one runs
// it inline); `threads` in fn is the team's actual size, and barrier() returns once every member
// has reached it. For recurrences, each step of which needs all of the step before: one team for
// the whole loop instead of a parallel_for per step. fn must not throw (a member that left early
// would leave the others waiting at the barrier).
void parallel_team(int threads, const std::function<void(int, int, const std::function<void()>&)>& fn);

// Calls fn(i) for every item i in [0, count), each about `work` elements: threads take chunks of
// items holding at least 32768 elements between them (fewer stay on the calling thread).
template <class F>
void parallel_for_each(int64_t count, int64_t work, const F& fn) {
  const int64_t grain = work >= 32768 ? 1 : 32768 / (work > 0 ? work : 1);
  parallel_for(0, count, grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) fn(i);
  });
}

}  // namespace pyseq
