import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))


def logistic_loss(w, X, y):
    p = sigmoid(np.asarray(X) @ np.asarray(w))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def log_likelihood_simplified(w, X, y):
    """讲义第三行 Σ [(y-1) wᵀx - ln(1 + e^(-wᵀx))] / the slide's third line. 数值稳定 / stable."""
    z = np.asarray(X, dtype=float) @ np.asarray(w, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(np.sum((y - 1.0) * z - np.logaddexp(0.0, -z)))


def numerical_gradient(f, w, eps=1e-5):
    """标量函数 f 在 w 处的中心差分梯度 / central-difference gradient of a scalar f at w."""
    w = np.asarray(w, dtype=float)
    grad = np.zeros_like(w)
    for j in range(w.size):
        step = np.zeros_like(w)
        step.flat[j] = eps
        grad.flat[j] = (f(w + step) - f(w - step)) / (2.0 * eps)
    return grad


def logistic_gradient(w, X, y):
    """∂J/∂w = Σ (p(x_i) - y_i) x_i，形状 (D,) / shape (D,)."""
    X = np.asarray(X, dtype=float)
    return X.T @ (sigmoid(X @ np.asarray(w, dtype=float)) - np.asarray(y, dtype=float))


def gradient_descent(w0, X, y, alpha, n_steps):
    """批量梯度下降 / batch gradient descent → (w, losses)，losses[t] = J(w_t)，长度 n_steps + 1."""
    w = np.array(w0, dtype=float)  # a copy: w0 stays as it was
    losses = [logistic_loss(w, X, y)]
    for _ in range(n_steps):
        w = w - alpha * logistic_gradient(w, X, y)
        losses.append(logistic_loss(w, X, y))
    return w, np.array(losses)


def descent_check(w, X, y, alpha):
    """(actual, predicted)：J(w - α∇J) - J(w) 与一阶泰勒预测 -α‖∇J‖² / and the first-order prediction."""
    grad = logistic_gradient(w, X, y)
    actual = logistic_loss(np.asarray(w, dtype=float) - alpha * grad, X, y) - logistic_loss(w, X, y)
    return actual, -alpha * float(grad @ grad)
