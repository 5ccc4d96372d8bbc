// How long the JS thread may wait for a quick routing answer instead of
// being woken for it (native/executor.h, SubmitAndWait): 200 µs unless
// PIPEWRIGHT_ANSWER_WAIT_US says otherwise. A process whose JS thread has
// better things to do than wait (the engine) sets its own. And how long its
// event loop polls for answers instead of sleeping while a few requests are
// on their way (native/dispatch.cc): 1 ms unless PIPEWRIGHT_POLL_US says.
import { transport } from './native';

/** The wait in force, µs (0: never waits). */
export function answerWaitUs(): number {
  return transport().stats().answerWaitUs;
}

/** Sets the wait (a whole number of µs, 0–1000; 0: never wait). */
export function setAnswerWait(us: number): void {
  transport().setAnswerWait(us);
}

/** The longest the event loop polls without an answer, µs (0: it never polls). */
export function pollUs(): number {
  return transport().stats().pollUs;
}
