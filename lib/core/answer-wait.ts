// How long the JS thread may wait for a quick routing answer instead of
// being woken for it (native/executor.h, SubmitAndWait): 200 µs unless
// PIPEWRIGHT_ANSWER_WAIT_US says otherwise. A process whose JS thread has
// better things to do than wait (the engine) sets its own.
import { transport } from './native';

/** The wait in force, µs (0: never waits). */
export function answerWaitUs(): number {
  return transport().stats().answerWaitUs;
}

/** Sets the wait (a whole number of µs, 0–1000; 0: never wait). */
export function setAnswerWait(us: number): void {
  transport().setAnswerWait(us);
}
