// The floor for the open model's cost (bench/open-model.sh): the least a generator can do per request on this machine.
// One thread, a timerfd and epoll, a pool of keep-alive connections, no parsing beyond counting the bytes of a
// fixed-size answer. Every arrival due within HORIZON_US of now goes out in one wake-up, as Constellation's pacer does.
//   open-floor PORT RATE SECONDS HORIZON_US  →  "sent N done N dropped N cpu S lag_p99_us N"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CONNECTIONS 256
#define TIMER 0xFFFFu
#define LAG_BUCKETS 100000 /* µs: how late each arrival was sent, up to 100 ms */

static long lags[LAG_BUCKETS + 1];

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: open-floor PORT RATE SECONDS HORIZON_US\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double rate = atof(argv[2]), seconds = atof(argv[3]);
  long long horizon = atoll(argv[4]) * 1000LL;
  char request[128];
  int length = snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
  int fds[CONNECTIONS], idle[CONNECTIONS], idle_count = 0;
  long received[CONNECTIONS];
  int ep = epoll_create1(0);
  for (int i = 0; i < CONNECTIONS; i++) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
      perror("connect");
      return 1;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fds[i] = s;
    idle[idle_count++] = i;
  }
  // The answer's size, from one blocking exchange.
  char buffer[65536];
  long answer = 0;
  if (write(fds[0], request, length) != length) return 1;
  for (long long until = now_ns() + 1000000000LL; now_ns() < until;) {
    int n = recv(fds[0], buffer, sizeof buffer, answer ? MSG_DONTWAIT : 0);
    if (n > 0) answer += n;
    else if (answer) break;
    usleep(2000);
  }
  for (int i = 0; i < CONNECTIONS; i++) {
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
  }
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event te = {.events = EPOLLIN, .data.u32 = TIMER};
  epoll_ctl(ep, EPOLL_CTL_ADD, timer, &te);

  double cpu0 = cpu_seconds();
  long long start = now_ns() + 1000000, end = start + (long long)(seconds * 1e9), interval = (long long)(1e9 / rate);
  long long next = start;
  long sent = 0, done = 0, dropped = 0;
  for (;;) {
    long long t = now_ns();
    for (; next <= t + horizon && next < end; next += interval) {
      long late = t > next ? (long)((t - next) / 1000) : 0;
      lags[late > LAG_BUCKETS ? LAG_BUCKETS : late]++;
      if (idle_count == 0) {
        dropped++;
        continue;
      }
      int i = idle[--idle_count];
      received[i] = 0;
      if (write(fds[i], request, length) != length) return 1;
      sent++;
    }
    if (next >= end && idle_count == CONNECTIONS) break;
    if (next < end) {
      struct itimerspec due = {.it_value = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL}};
      timerfd_settime(timer, TFD_TIMER_ABSTIME, &due, NULL);
    }
    struct epoll_event events[64];
    int n = epoll_wait(ep, events, 64, 1000);
    for (int k = 0; k < n; k++) {
      unsigned i = events[k].data.u32;
      if (i == TIMER) {
        unsigned long long expirations;
        if (read(timer, &expirations, sizeof expirations) < 0) continue;
        continue;
      }
      int r;
      while ((r = recv(fds[i], buffer, sizeof buffer, 0)) > 0) received[i] += r;
      if (received[i] >= answer) {
        received[i] = 0;
        done++;
        idle[idle_count++] = i;
      }
    }
  }
  long arrivals = sent + dropped, seen = 0, p99 = 0;
  for (; p99 <= LAG_BUCKETS && (seen += lags[p99]) < arrivals * 0.99; p99++) {
  }
  printf("sent %ld done %ld dropped %ld cpu %.3f lag_p99_us %ld\n", sent, done, dropped, cpu_seconds() - cpu0, p99);
  return 0;
}
