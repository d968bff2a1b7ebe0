// A small persistent thread pool. The calling thread takes chunk 0; workers spin briefly, then block, so that
// they do not steal the cores from OpenBLAS's own threads between our kernels.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#define LAUREL_PAUSE() _mm_pause()
#else
#define LAUREL_PAUSE() std::this_thread::yield()
#endif

#include "common.h"

namespace laurel {
namespace {

struct Pool {
  std::atomic<int> nthreads{1};
  std::vector<std::thread> workers;
  // Held by the JS thread whose job runs (and by start): the addon is one per process, but Node's worker
  // threads each call it, and two jobs at once would overwrite each other's job and pending count.
  std::mutex owner;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<uint64_t> gen{0};
  std::atomic<int> pending{0};
  std::atomic<bool> stop{false};
  const std::function<void(int)>* job = nullptr;

  ~Pool() { shutdown(); }

  void shutdown() {
    {
      std::lock_guard<std::mutex> l(mu);
      stop = true;
      gen++;
    }
    cv.notify_all();
    for (auto& t : workers) t.join();
    workers.clear();
    stop = false;
  }

  void start(int n) {
    shutdown();
    const int want = n < 1 ? 1 : (n > pool_max_threads() ? pool_max_threads() : n);
    uint64_t g = gen.load(std::memory_order_acquire);  // workers must not miss a job posted before they run
    // Where the system refuses a thread (std::system_error: a process or memory limit), keep the ones started
    // instead of letting the exception abort the process. No job runs before start returns, so a worker told
    // a larger count is never handed a chunk index it cannot have.
    int started = 1;
    try {
      for (int i = 1; i < want; i++, started++) workers.emplace_back([this, i, g] { loop(i, g); });
    } catch (const std::exception&) {  // std::system_error, or std::bad_alloc growing the vector
    }
    nthreads = started;
  }

  void loop(int idx, uint64_t seen) {
    for (;;) {
      int spins = 0;
      while (gen.load(std::memory_order_acquire) == seen) {
        if (++spins < 2000) {
          LAUREL_PAUSE();
        } else if (spins < 2100) {
          std::this_thread::yield();
        } else {
          std::unique_lock<std::mutex> l(mu);
          cv.wait(l, [&] { return gen.load(std::memory_order_acquire) != seen; });
        }
      }
      seen = gen.load(std::memory_order_acquire);
      if (stop.load()) return;
      (*job)(idx);
      pending.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void run(const std::function<void(int)>& fn) {
    job = &fn;
    pending.store(nthreads - 1, std::memory_order_release);
    {
      std::lock_guard<std::mutex> l(mu);
      gen.fetch_add(1, std::memory_order_acq_rel);
    }
    cv.notify_all();
    fn(0);
    // Spin briefly, then yield: on a loaded machine the worker may be waiting for a core.
    for (int spins = 0; pending.load(std::memory_order_acquire) != 0; spins++) {
      if (spins < 2000)
        LAUREL_PAUSE();
      else
        std::this_thread::yield();
    }
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: joining threads at exit is not worth the risk
  return *p;
}
thread_local bool in_parallel = false;

}  // namespace

void pool_set_threads(int n) {
  Pool& p = pool();
  std::lock_guard<std::mutex> own(p.owner);  // not while another JS thread's job runs
  p.start(n);
}
int pool_max_threads() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return cores > 16 ? 4 * cores : 64;
}
int pool_threads() { return pool().nthreads; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  Pool& p = pool();
  if (n <= 0) return;
  if (p.nthreads <= 1 || in_parallel || n < 2 * grain) {
    fn(0, n);
    return;
  }
  // Another JS thread (a Node worker) owns the pool: this call runs on its own thread instead of waiting.
  std::unique_lock<std::mutex> own(p.owner, std::try_to_lock);
  const int nt = p.nthreads;
  if (!own.owns_lock() || nt <= 1) {
    fn(0, n);
    return;
  }
  int chunks = nt;
  int64_t per = (n + chunks - 1) / chunks;
  // Chunks of many elements start on 64-byte boundaries (no false sharing between threads). Small counts
  // (n = threads, for per-thread partial sums) are not rounded: rounding 2 up to 16 ran them all on one thread.
  if (per > 16) per = (per + 15) & ~int64_t(15);
  std::function<void(int)> job = [&](int idx) {
    int64_t b = idx * per;
    int64_t e = b + per < n ? b + per : n;
    if (b < e) {
      in_parallel = true;
      fn(b, e);
      in_parallel = false;
    }
  };
  p.run(job);
}

}  // namespace laurel
