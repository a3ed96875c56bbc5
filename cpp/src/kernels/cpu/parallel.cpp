#include "pyseq/parallel.h"

#include <algorithm>
#include <atomic>
#include <exception>

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

void parallel_team(int threads, const std::function<void(int, int, const std::function<void()>&)>& fn) {
  const std::function<void()> no_barrier = [] {};
#ifdef _OPENMP
  if (threads > 1 && !detail::in_parallel_region()) {
#pragma omp parallel num_threads(threads)
    {
      const std::function<void()> barrier = [] {
#pragma omp barrier
      };
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
