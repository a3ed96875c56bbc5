#include "pyseq/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>

#include "pyseq/common.h"
#include <cstdlib>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pyseq {
namespace {

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

std::atomic<int> g_num_threads{default_threads()};
thread_local bool t_in_parallel = false;

}  // namespace

int get_num_threads() { return g_num_threads.load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  PYSEQ_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive number of threads, got ", n);
  g_num_threads.store(n);
}

namespace detail {

bool in_parallel_region() { return t_in_parallel; }

void parallel_run(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t n = end - begin;
  const int64_t max_chunks = (n + std::max<int64_t>(grain, 1) - 1) / std::max<int64_t>(grain, 1);
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), max_chunks));
#ifdef _OPENMP
  // The first exception thrown in a worker is re-thrown on the caller's thread.
  std::exception_ptr error;
  std::atomic<bool> failed{false};
#pragma omp parallel num_threads(threads)
  {
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = begin + tid * chunk, e = std::min(end, b + chunk);
    if (b < e) {
      t_in_parallel = true;
      try {
        fn(b, e);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
      t_in_parallel = false;
    }
  }
  if (error) std::rethrow_exception(error);
#else
  (void)threads;
  fn(begin, end);
#endif
}

}  // namespace detail

namespace {

// A sense-reversing spin barrier: the team's threads are busy between barriers (a recurrence's
// steps are microseconds apart), so waiting spins rather than sleeps; after many idle spins it
// yields the core, in case the threads outnumber the cores.
class SpinBarrier {
 public:
  explicit SpinBarrier(int threads) : threads_(threads) {}
  void wait() {
    const int phase = phase_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {  // the last one in
      arrived_.store(0, std::memory_order_relaxed);
      phase_.store(phase + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; phase_.load(std::memory_order_acquire) == phase; ++spins)
      if (spins > 20000) std::this_thread::yield();
  }

 private:
  const int threads_;
  alignas(64) std::atomic<int> arrived_{0};
  alignas(64) std::atomic<int> phase_{0};
};

}  // namespace

void parallel_team(int threads, const std::function<void(int, int, const std::function<void()>&)>& fn) {
  const std::function<void()> no_barrier = [] {};
#ifdef _OPENMP
  if (threads > 1 && !detail::in_parallel_region()) {
    std::unique_ptr<SpinBarrier> spin;
#pragma omp parallel num_threads(threads)
    {
      // for the threads OpenMP gave (maybe fewer than asked); single ends with OpenMP's barrier,
      // so every thread sees the spin barrier after it
#pragma omp single
      spin = std::make_unique<SpinBarrier>(omp_get_num_threads());
      const std::function<void()> barrier = [&spin] { spin->wait(); };
      t_in_parallel = true;
      fn(omp_get_thread_num(), omp_get_num_threads(), barrier);
      t_in_parallel = false;
    }
    return;
  }
#endif
  (void)threads;
  fn(0, 1, no_barrier);
}

}  // namespace pyseq
